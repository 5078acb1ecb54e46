// Files the app posts to Slack (the at-risk CSV, a customer's photo in a ticket thread) go
// through Slack's current upload flow: files.getUploadURLExternal, the upload, then
// files.completeUploadExternal (the Web API client's uploadV2 makes those calls).
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
