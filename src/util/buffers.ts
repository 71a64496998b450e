// Sizes shared by every packet buffer. Packets read from a TUN device or an underlay sit in buffers
// with at least PACKET_HEADROOM free bytes in front, so outer headers are written in place.

/** Free bytes kept in front of every packet: enough for VXLAN (8) + inner Ethernet (14), and spare. */
export const PACKET_HEADROOM = 64;
/** Largest packet any device or underlay hands over (an IPv4 datagram cannot be larger). */
export const MAX_PACKET = 65535;
/** Slot size used by pooled packet buffers (headroom + a 9000-byte jumbo packet + tail room). */
export const SLOT_SIZE = 9216;
