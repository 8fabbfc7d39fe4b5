// What an admin request and answer are, apart from HTTP: the edge parses into these and sends
// them back; errors are JSON with a stable code and a message.

export interface AdminRequest {
  readonly method: string;
  readonly url: URL;
  /** The request body, parsed as JSON when it is some; undefined when empty. */
  readonly body?: unknown;
}

export interface AdminResponse {
  readonly status: number;
  /** A string is sent as is (with `type`); anything else as JSON. */
  readonly body: unknown;
  readonly type?: string;
  /** More response headers (the dashboard's Content-Security-Policy). */
  readonly headers?: Readonly<Record<string, string>>;
}

export type AdminRoutes = (request: AdminRequest) => AdminResponse | Promise<AdminResponse>;

export const jsonError = (status: number, code: string, message: string): AdminResponse => ({
  status,
  body: { error: { code, message } },
});
