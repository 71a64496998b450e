// meta/v1 Status objects for API errors (and the 401 of an unauthenticated request), built from
// KubeApiError or any other thrown value (→ 500 InternalError). Pure.
import { KubeApiError } from '../util/errors.js';
import type { Status } from '../k8s/types.js';

export function statusFromError(err: unknown): Status {
  if (err instanceof KubeApiError) {
    const s: Status = {
      apiVersion: 'v1',
      kind: 'Status',
      metadata: {},
      status: 'Failure',
      message: err.message,
      reason: err.reason,
      code: err.httpStatus,
    };
    if (err.details) s.details = err.details;
    if (err.reason === 'Expired' || err.reason === 'Gone') s.reason = 'Expired';
    return s;
  }
  if (err instanceof Error && (err.name === 'SelectorError' || err.name === 'PatchError')) {
    return {
      apiVersion: 'v1',
      kind: 'Status',
      metadata: {},
      status: 'Failure',
      message: err.message,
      reason: 'BadRequest',
      code: 400,
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    apiVersion: 'v1',
    kind: 'Status',
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${message}`,
    reason: 'InternalError',
    code: 500,
  };
}

export const badRequest = (message: string): KubeApiError => new KubeApiError(400, 'BadRequest', message);
export const notFoundPath = (): KubeApiError =>
  new KubeApiError(404, 'NotFound', 'the server could not find the requested resource');
export const methodNotAllowed = (): KubeApiError =>
  new KubeApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
