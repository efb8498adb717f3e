export interface ThrowawayCluster {
  url: string;
  port: number;
  pause(): void;
  start(): void;
  stop(): void;
}
export function startThrowawayCluster(): Promise<ThrowawayCluster | null>;
export function findPostgres(): Promise<{ url: string; source: string; stop(): void } | null>;
