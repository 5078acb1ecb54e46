import type { WebClient } from "@slack/web-api";
import type { Logger } from "../../core/log";
import { decideStaff, type StaffDecision, type StaffPolicy } from "../../core/staff/policy";

/** Checks staff membership; the user group's members are fetched from Slack and cached. */
export interface StaffGuard {
  check(userId: string, channelId?: string): Promise<StaffDecision>;
}

export function createStaffGuard(options: {
  policy: StaffPolicy;
  client: WebClient;
  log: Logger;
  cacheMs?: number;
}): StaffGuard {
  const { policy, client, log } = options;
  const cacheMs = options.cacheMs ?? 5 * 60_000;
  let members: { users: string[]; at: number } | null = null;
  let channelMembers: { users: string[]; at: number } | null = null;

  async function staffChannelMembers(): Promise<string[]> {
    if (!policy.channel) return [];
    if (channelMembers && Date.now() - channelMembers.at < cacheMs) return channelMembers.users;
    try {
      const users: string[] = [];
      let cursor: string | undefined;
      do {
        const res = await client.conversations.members({ channel: policy.channel, limit: 1000, cursor });
        users.push(...(res.members ?? []));
        cursor = res.response_metadata?.next_cursor || undefined;
      } while (cursor);
      channelMembers = { users, at: Date.now() };
    } catch (error) {
      log.warn({ err: error instanceof Error ? error.message : String(error) }, "conversations.members failed");
      return channelMembers?.users ?? [];
    }
    return channelMembers.users;
  }

  async function usergroupMembers(): Promise<string[]> {
    if (!policy.usergroup) return [];
    if (members && Date.now() - members.at < cacheMs) return members.users;
    try {
      const res = await client.usergroups.users.list({ usergroup: policy.usergroup });
      members = { users: res.users ?? [], at: Date.now() };
    } catch (error) {
      // A failing lookup denies (fail closed) but keeps the last known list if there is one.
      log.warn({ err: error instanceof Error ? error.message : String(error) }, "usergroups.users.list failed");
      return members?.users ?? [];
    }
    return members.users;
  }

  return {
    async check(userId, channelId) {
      const quick = decideStaff(policy, { userId, channelId });
      if (quick.allowed || (!policy.usergroup && !policy.channel)) return quick;
      const [usergroup, channel] = await Promise.all([usergroupMembers(), staffChannelMembers()]);
      return decideStaff(policy, { userId, channelId, usergroupMembers: usergroup, channelMembers: channel });
    },
  };
}

/** The one sentence non-staff see. */
export const STAFF_ONLY_TEXT =
  "Sorry, this app is for the retention team only. If you need access, please ask an administrator to add you to the staff channel or user group.";
