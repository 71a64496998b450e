{
  "targets": [
    {
      "target_name": "flannelette",
      "sources": ["native/addon.c", "native/dev.c", "native/tun.c", "native/udp.c", "native/udp_gro.c", "native/netns.c",
                  "native/busy_poll.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_c": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    },
    {
      "target_name": "flt-shim",
      "type": "executable",
      "sources": ["native/shim.c"],
      "cflags_c": ["-std=gnu11", "-O2", "-Wall", "-Wextra"]
    }
  ]
}
