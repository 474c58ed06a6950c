/** An imp as the admin API reports it (shared with the CLI, so it holds types only). */
export interface ImpStatus {
  impId: string;
  label: string;
  createdAt: number;
  online: boolean;
  connectedSince: number | null;
  deviceAgent: string | null;
  deviceKey: boolean;
  allowHttp: boolean;
  public: boolean;
  requestTimeoutMs: number | null;
}
