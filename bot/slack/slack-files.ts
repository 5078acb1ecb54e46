// Files the app posts to Slack (the at-risk CSV, a customer's photo in a ticket thread) go
// through Slack's current upload flow: files.getUploadURLExternal, the upload, then
// files.completeUploadExternal (the Web API client's uploadV2 makes those calls; a customer's
// file makes them one by one, so its file id can be kept before it is shared).
import type { WebClient } from "@slack/web-api";

export interface SlackUpload {
  filename: string;
  title?: string;
  content: Buffer;
}

/**
 * Uploads `files` into `channel` (into `threadTs`'s thread when given) with one comment.
 * @throws the Web API's error when any step fails.
 */
export async function uploadToSlack(
  client: WebClient,
  target: { channel: string; threadTs?: string; comment?: string },
  files: SlackUpload[],
): Promise<void> {
  await client.files.uploadV2({
    channel_id: target.channel,
    ...(target.threadTs ? { thread_ts: target.threadTs } : {}),
    ...(target.comment ? { initial_comment: target.comment } : {}),
    file_uploads: files.map((f) => ({ filename: f.filename, title: f.title ?? f.filename, file: f.content })),
  });
}

/**
 * Uploads one file into a thread step by step: `started(fileId)` runs with Slack's file id before
 * the file is shared (files.completeUploadExternal), so the caller can keep it and later find out
 * (`isSharedIn`) whether a crash came before or after the share.
 * @returns the file id; throws the Web API's error (or the upload's) when a step fails.
 */
export async function uploadIntoThread(
  client: WebClient,
  target: { channel: string; threadTs: string },
  file: SlackUpload,
  started: (fileId: string) => Promise<void>,
): Promise<string> {
  const url = await client.files.getUploadURLExternal({ filename: file.filename, length: file.content.length });
  if (!url.upload_url || !url.file_id) throw new Error("files.getUploadURLExternal gave no upload address");
  await started(url.file_id);
  const sent = await fetch(url.upload_url, {
    method: "POST",
    body: new Uint8Array(file.content),
    signal: AbortSignal.timeout(60_000),
  });
  if (!sent.ok) throw new Error(`the file upload was answered ${sent.status}`);
  await client.files.completeUploadExternal({
    files: [{ id: url.file_id, title: file.title ?? file.filename }],
    channel_id: target.channel,
    thread_ts: target.threadTs,
  });
  return url.file_id;
}

/** Whether a file was shared into `channel` (false for a file Slack no longer has). */
export async function isSharedIn(client: WebClient, fileId: string, channel: string): Promise<boolean> {
  try {
    const info = await client.files.info({ file: fileId });
    const f = info.file as
      | { channels?: string[]; groups?: string[]; ims?: string[]; shares?: Record<string, Record<string, unknown>> }
      | undefined;
    if (!f) return false;
    const ids = [...(f.channels ?? []), ...(f.groups ?? []), ...(f.ims ?? [])];
    return ids.includes(channel) || Object.values(f.shares ?? {}).some((byChannel) => channel in byChannel);
  } catch (error) {
    if ((error as { data?: { error?: string } }).data?.error === "file_not_found") return false;
    throw error;
  }
}

/** Deletes a file the app uploaded; true also when Slack no longer has it. */
export async function deleteSlackFile(client: WebClient, fileId: string): Promise<boolean> {
  try {
    await client.files.delete({ file: fileId });
    return true;
  } catch (error) {
    const code = (error as { data?: { error?: string } }).data?.error;
    if (code === "file_not_found" || code === "file_deleted") return true;
    throw error;
  }
}
