// Who may use the staff app. Slack ids are compared exactly; the user group's members are
// fetched by the adapter (it owns the Slack client) and handed in.

export interface StaffPolicy {
  /** This channel's members are staff anywhere, direct messages included (and so is anyone acting in it). */
  channel?: string;
  /** These user ids are staff anywhere (including direct messages). */
  users: string[];
  /** Members of this user group are staff anywhere. */
  usergroup?: string;
}

export type StaffDecision =
  { allowed: true; via: "channel" | "user" | "usergroup" } | { allowed: false; reason: "not_configured" | "not_staff" };

/** Builds the policy from the parsed `config.slack` section. */
export function staffPolicyFromConfig(slack: {
  staffChannel?: string;
  staffUsers: string[];
  staffUsergroup?: string;
}): StaffPolicy {
  return { channel: slack.staffChannel, users: slack.staffUsers, usergroup: slack.staffUsergroup };
}

/** True when the policy needs a member list (user group or staff channel) to decide. */
export function needsUsergroupMembers(policy: StaffPolicy): boolean {
  return Boolean(policy.usergroup || policy.channel);
}

/**
 * Decides whether a Slack user, acting in a channel, is staff. With nothing configured no one
 * is: the app holds customer data and must be opened on purpose.
 */
export function decideStaff(
  policy: StaffPolicy,
  who: {
    userId: string;
    channelId?: string;
    usergroupMembers?: readonly string[];
    /** The staff channel's members, fetched by the adapter. */
    channelMembers?: readonly string[];
  },
): StaffDecision {
  if (!policy.channel && policy.users.length === 0 && !policy.usergroup)
    return { allowed: false, reason: "not_configured" };
  if (policy.users.includes(who.userId)) return { allowed: true, via: "user" };
  if (policy.usergroup && who.usergroupMembers?.includes(who.userId)) return { allowed: true, via: "usergroup" };
  if (policy.channel && (who.channelId === policy.channel || who.channelMembers?.includes(who.userId)))
    return { allowed: true, via: "channel" };
  return { allowed: false, reason: "not_staff" };
}
