// Types of check-layers.mjs (for the unit test that runs it).
export interface LayerRules {
  values: Set<string>;
  types: Set<string>;
}
export interface FoundImport {
  spec: string;
  line: number;
  typeOnly: boolean;
}
export function parseLayerTable(markdown: string): Map<string, LayerRules>;
export function importsOf(text: string): FoundImport[];
export function check(rootDir?: string): string[];
