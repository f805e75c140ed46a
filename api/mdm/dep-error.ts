import type { Response } from 'express';

/**
 * A refusal of the device enrollment endpoints as Apple answers them: the status and the bare code
 * as a plain-text body (e.g. 400 `INVALID_CURSOR`). MDM clients branch on the code found in the
 * body (nanodep's godep looks for it with bytes.Contains), so the code is the whole body.
 */
export function sendDepError(res: Response, status: number, code: string): void {
  res.status(status).setHeader('Cache-Control', 'no-store').type('text/plain').send(code);
}

/** Device endpoints' refusal codes, as Apple's device assignment documentation names them. */
export type DepDeviceErrorCode =
  | 'MALFORMED_REQUEST_BODY'
  | 'CURSOR_REQUIRED'
  | 'INVALID_CURSOR'
  | 'EXHAUSTED_CURSOR'
  | 'EXPIRED_CURSOR'
  | 'DEVICE_ID_REQUIRED'
  | 'PROFILE_UUID_REQUIRED'
  | 'CONFIG_NAME_REQUIRED'
  | 'NOT_FOUND'
  | 'ACCESS_DENIED';
