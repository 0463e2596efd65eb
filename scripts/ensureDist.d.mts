import type { DistState } from '../bin/distState.mjs';
export function ensureDist(label: string): DistState & { built: boolean };
