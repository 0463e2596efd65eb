export const ROOT: string;
export const BUILD_INFO: string;
export const SOURCE_ENTRY: string;
export interface DistState {
  state: 'fresh' | 'stale' | 'missing';
  reason: string;
}
export function listInputs(root: string, inputs: string[]): string[];
export function hashInputs(root: string, files: string[]): string;
export function distState(root?: string): DistState;
