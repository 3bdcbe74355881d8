import type { components } from "../../lib/api/client";
import { ApiError } from "../../lib/api/problem";
import { getCsrfToken } from "../../lib/csrf";

export type Attachment = components["schemas"]["AttachmentRead"];

export function percent(loaded: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(100, Math.round((loaded / total) * 100));
}

/** Parse an upload's failed response into the problem it carries. */
export function uploadError(status: number, text: string, requestId: string | null): ApiError {
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  return new ApiError(status, body, requestId);
}

/**
 * Upload one file (multipart field `file`) with progress. XMLHttpRequest rather than fetch:
 * fetch reports no upload progress.
 */
export function uploadAttachment(file: File, onProgress: (pct: number) => void, signal?: AbortSignal): Promise<Attachment> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/attachments");
    const token = getCsrfToken();
    if (token) xhr.setRequestHeader("X-CSRF-Token", token);
    xhr.upload.onprogress = (e) => onProgress(percent(e.loaded, e.total));
    xhr.onload = () => {
      if (xhr.status === 201) {
        onProgress(100);
        resolve(JSON.parse(xhr.responseText) as Attachment);
      } else {
        reject(uploadError(xhr.status, xhr.responseText, xhr.getResponseHeader("X-Request-ID")));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, null));
    xhr.onabort = () => reject(new DOMException("Upload cancelled", "AbortError"));
    signal?.addEventListener("abort", () => xhr.abort());
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}
