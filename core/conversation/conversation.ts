// The customer's conversation, channel-neutral: a message (text, media or both) or a button press
// comes in with the chat's stored state; replies (locale keys) and the new state go out. Flows
// (NPS comment, SERVQUAL, complaint, confirmations) are states with an expiry and explicit exits:
// any command (the channel calls `leaveFlow`), the survey's Skip / Stop buttons, and a text that
// is plainly not an answer leave the flow, and the text is then handled as a normal message.
// Normal messages: small talk gets a short answer and no ticket; a request opens or joins the
// customer's ticket (staff are told in the same statement), and a burst is acknowledged once.
import type { Database } from "../db/client";
import { recordNpsComment, recordNpsScore } from "../feedback/nps";
import {
  answerServqual,
  servqualQuestion,
  startServqual,
  SERVQUAL_STEPS,
  type ServqualState,
} from "../feedback/servqual";
import { tagThemes } from "../feedback/themes";
import type { ChatModel } from "../llm/chat-model";
import type { Logger } from "../log";
import {
  addCustomerMessage,
  findOpenTicket,
  openTicket,
  type Attachment,
  type OpenedTicket,
  type UpdateMarker,
  type UpdateOutcome,
} from "../tickets/tickets";
import { routeIntent, type AwaitedAnswer, type RoutedIntent } from "./intent-routing";
import {
  activeFlow,
  enterFlow,
  leaveFlow,
  say,
  type ConversationState,
  type Flow,
  type Reply,
  type ReplyButton,
} from "./state";

/** The longest text we take; Telegram's own limit for a message. */
export const MAX_TEXT = 4096;
/** How long the model's intent is awaited when the deps do not say. */
const DEFAULT_INTENT_TIMEOUT_MS = 4000;
/** Messages to staff closer together than this are one burst, acknowledged once. */
export const BURST_WINDOW_MS = 60_000;

export interface ConversationDeps {
  db: Database;
  log: Logger;
  chatModel?: ChatModel;
  /** CONVERSATION_TIMEOUT_MINUTES */
  timeoutMinutes: number;
  /** LLM_INTENT_TIMEOUT_MS: how long the model's intent is awaited (default 4 s). */
  intentTimeoutMs?: number;
  /** SUPPORT_RESPONSE_HOURS: the response time the acknowledgement promises. */
  supportResponseHours: number;
}

export interface ConversationCustomer {
  id: number;
  marketingConsent: boolean;
  /** Their newest ticket not resolved, when the channel read it already; looked up when undefined. */
  openTicket?: OpenedTicket | null;
}

export interface CustomerMessage {
  /** The text, or a media's caption; empty for bare media. */
  text: string;
  attachments?: Attachment[];
  /** Who wrote it on the channel (a Telegram user id), kept with the ticket message. */
  authorRef?: string;
  /** The inbound update this message came in, marked handled in the same statement as its write. */
  marker?: UpdateMarker;
  /**
   * What this update's write already did (a crash came between the write and the replies): the
   * replies are rebuilt from it and nothing is written again.
   */
  recorded?: UpdateOutcome | null;
}

export interface ConversationResult {
  replies: Reply[];
  state: ConversationState;
}

/** A button's outcome: a short notice on the button itself (or none), replies, the new state. */
export interface ButtonResult extends ConversationResult {
  /** Locale key of a notice shown on the button (stale, invalid...). */
  notice?: string;
  /** The message the button was on has been answered: remove its buttons. */
  answered: boolean;
}

const unlinked = (): Reply => say("unlinked", undefined, { requestPhone: true });

/**
 * Handles one message from a customer.
 * @throws when the database fails (the channel lets the update be redelivered).
 */
export async function handleCustomerMessage(
  deps: ConversationDeps,
  input: { customer: ConversationCustomer | null; message: CustomerMessage; state: ConversationState; now: Date },
): Promise<ConversationResult> {
  const { customer, message, now } = input;
  if (message.recorded) return replyToRecorded(deps, message.recorded, input.state);
  if (!customer) return { replies: [unlinked()], state: input.state };
  if (message.text.length > MAX_TEXT) return { replies: [say("too-long", { max: MAX_TEXT })], state: input.state };
  const flow = activeFlow(input.state, now, deps.timeoutMinutes);
  const state = flow ? input.state : leaveFlow(input.state);
  let routed: RoutedIntent | undefined;
  if (flow) {
    const inFlow = await continueFlow(deps, customer, flow, message, state, now);
    if (!("left" in inFlow)) return inFlow;
    routed = inFlow.routed;
  }
  return handleNormalMessage(deps, customer, message, leaveFlow(state), now, routed);
}

/**
 * The replies the write recorded in `outcome` was answered with, from the state the update came
 * with (it was never stored): a request opened a ticket, or joined one (acknowledged once a burst),
 * or an NPS follow-up answer was stored (with the detractor's ticket).
 */
function replyToRecorded(deps: ConversationDeps, outcome: UpdateOutcome, state: ConversationState): ConversationResult {
  const next = { ...leaveFlow(state), lastRequestAt: outcome.at };
  switch (outcome.type) {
    case "ticket_opened":
      return {
        replies: [ticketPromise(deps, "request-ack", { id: outcome.ticketId, reference: outcome.reference })],
        state: next,
      };
    case "ticket_message":
      return {
        replies: inBurst(state, new Date(outcome.at)) ? [] : [say("complaint-added", { reference: outcome.reference })],
        state: next,
      };
    case "nps_comment": {
      const replies = [say("nps-thanks")];
      if (outcome.ticketId !== null && outcome.reference !== null)
        replies.push(ticketPromise(deps, "nps-ticket", { id: outcome.ticketId, reference: outcome.reference }));
      return { replies, state: next };
    }
  }
}

/** Whether a message to staff at `now` belongs to the burst of the previous one. */
function inBurst(state: ConversationState, now: Date): boolean {
  const lastRequest = state.lastRequestAt ? Date.parse(state.lastRequestAt) : NaN;
  return Number.isFinite(lastRequest) && now.getTime() - lastRequest < BURST_WINDOW_MS;
}

/**
 * The message is plainly not the flow's answer: the flow is left and the message handled as a
 * normal one, with the intent already decided when deciding it took one (a model call saved).
 */
interface LeftFlow {
  left: true;
  routed?: RoutedIntent;
}
const LEFT: LeftFlow = { left: true };

/** How a text is routed: by the model when one is configured, within its time. */
function routing(deps: ConversationDeps, text: string, awaiting?: AwaitedAnswer): Promise<RoutedIntent> {
  return routeIntent(text, {
    chatModel: deps.chatModel,
    timeoutMs: deps.intentTimeoutMs ?? DEFAULT_INTENT_TIMEOUT_MS,
    log: deps.log,
    awaiting,
  });
}

/** A flow's answer, or `LeftFlow` when the message is plainly not one. */
async function continueFlow(
  deps: ConversationDeps,
  customer: ConversationCustomer,
  flow: Flow,
  message: CustomerMessage,
  state: ConversationState,
  now: Date,
): Promise<ConversationResult | LeftFlow> {
  const text = message.text.trim();
  const hasMedia = Boolean(message.attachments?.length);
  switch (flow.type) {
    case "nps_comment": {
      if (hasMedia || !text) return LEFT;
      // The answer to "what is the main reason for your score?", or a new question or small talk.
      const routed = await routing(deps, text, "nps");
      if (!routed.answers) return { left: true, routed };
      const result = await recordNpsComment(
        deps.db,
        {
          feedbackId: flow.feedbackId,
          customerId: customer.id,
          text,
          now,
          authorRef: message.authorRef,
          marker: message.marker,
        },
        { chatModel: deps.chatModel, log: deps.log },
      );
      if (!result.ok) return { left: true, routed };
      const replies = [say("nps-thanks")];
      if (result.value.ticket) replies.push(ticketPromise(deps, "nps-ticket", result.value.ticket));
      return { replies, state: { ...leaveFlow(state), lastRequestAt: now.toISOString() } };
    }
    case "servqual": {
      // The answers are buttons; a bare digit in range is taken as one, anything else leaves.
      if (hasMedia || !/^[1-7]$/.test(text)) return LEFT;
      return (await answerSurvey(deps, customer, state, flow.state, flow.state.step, Number(text), now)) ?? LEFT;
    }
    case "complaint": {
      if (!text && !hasMedia) return LEFT;
      const opened = await openRequest(deps, customer, message, now, true);
      if (!opened) return { replies: [], state };
      return {
        replies: [ticketPromise(deps, "request-ack", opened)],
        state: { ...leaveFlow(state), lastRequestAt: now.toISOString() },
      };
    }
    case "confirm_forget":
    case "confirm_optin":
      return LEFT;
  }
}

async function handleNormalMessage(
  deps: ConversationDeps,
  customer: ConversationCustomer,
  message: CustomerMessage,
  state: ConversationState,
  now: Date,
  alreadyRouted?: RoutedIntent,
): Promise<ConversationResult> {
  const text = message.text.trim();
  const hasMedia = Boolean(message.attachments?.length);
  let complaint = false;
  if (!hasMedia) {
    const routed = alreadyRouted ?? (await routing(deps, text));
    if (routed.intent !== "request") return { replies: [say(`smalltalk-${routed.intent}`)], state };
    complaint = routed.complaint;
  }
  const alreadyAcknowledged = inBurst(state, now);
  const next = { ...state, lastRequestAt: now.toISOString() };
  const open = customer.openTicket === undefined ? await findOpenTicket(deps.db, customer.id) : customer.openTicket;
  if (open) {
    const added = await addCustomerMessage(deps.db, {
      ticketId: open.id,
      customerId: customer.id,
      text: message.text,
      attachments: message.attachments,
      authorRef: message.authorRef,
      marker: message.marker,
      now,
    });
    if (added.ok)
      return {
        replies: alreadyAcknowledged ? [] : [say("complaint-added", { reference: open.reference })],
        state: next,
      };
    if (added.error.type === "duplicate") return { replies: [], state };
  }
  // A photo alone, with nothing open to join, says nothing a person could act on yet.
  if (!text) return { replies: [say("media-outside")], state };
  const opened = await openRequest(deps, customer, message, now, complaint);
  if (!opened) return { replies: [], state };
  return { replies: [ticketPromise(deps, "request-ack", opened)], state: next };
}

/** Opens a ticket for a request; a complaint (by flow, or by its words) also writes feedback. */
async function openRequest(
  deps: ConversationDeps,
  customer: ConversationCustomer,
  message: CustomerMessage,
  now: Date,
  isComplaint: boolean,
): Promise<OpenedTicket | null> {
  const tagging = message.text.trim()
    ? await tagThemes(message.text, { chatModel: deps.chatModel, log: deps.log })
    : { themes: [], complaint: false };
  const input = {
    customerId: customer.id,
    source: isComplaint || tagging.complaint ? ("complaint" as const) : ("message" as const),
    text: message.text,
    attachments: message.attachments,
    authorRef: message.authorRef,
    themes: tagging.themes,
    now,
  };
  return message.marker ? openTicket(deps.db, { ...input, marker: message.marker }) : openTicket(deps.db, input);
}

function ticketPromise(deps: ConversationDeps, key: string, ticket: OpenedTicket): Reply {
  return say(key, { reference: ticket.reference, hours: deps.supportResponseHours });
}

// ── Commands and buttons ─────────────────────────────────────────────────────

/** Any command leaves the flow in progress (the command is then handled on its own). */
export function onCommand(state: ConversationState): ConversationState {
  return leaveFlow(state);
}

/** `/complaint`: the next message is the complaint. */
export function startComplaint(
  customer: ConversationCustomer | null,
  state: ConversationState,
  now: Date,
): ConversationResult {
  if (!customer) return { replies: [unlinked()], state };
  return {
    replies: [say("complaint-prompt")],
    state: enterFlow(state, { type: "complaint" }, now),
  };
}

/** Enters a confirmation flow (erasure, opting back in) so its buttons are accepted. */
export function awaitConfirmation(
  state: ConversationState,
  type: "confirm_forget" | "confirm_optin",
  now: Date,
): ConversationState {
  return enterFlow(state, { type }, now);
}

/** Whether a confirmation button matches the flow in progress (an old button is stale). */
export function confirmationPending(
  state: ConversationState,
  type: "confirm_forget" | "confirm_optin",
  now: Date,
  timeoutMinutes: number,
): boolean {
  return activeFlow(state, now, timeoutMinutes)?.type === type;
}

/** Whether an outbox message was sent to this customer and is of this kind (buttons carry its id). */
export async function ownsOutboxMessage(
  db: Database,
  outboxId: number,
  customerId: number,
  kind: string,
): Promise<boolean> {
  const row = await db.prisma.outboxMessage.findUnique({
    where: { id: outboxId },
    select: { customerId: true, kind: true },
  });
  return Boolean(row && row.customerId === customerId && row.kind === kind);
}

/**
 * An NPS score button. The outbox message must be this customer's NPS question. A detractor's
 * ticket and staff alert are written at once; the follow-up question asks for a comment.
 */
export async function pressNpsScore(
  deps: ConversationDeps,
  input: {
    customer: ConversationCustomer | null;
    outboxId: number;
    score: number;
    state: ConversationState;
    now: Date;
  },
): Promise<ButtonResult> {
  const { customer, state, now } = input;
  if (!customer) return { replies: [unlinked()], state, answered: false };
  if (!(await ownsOutboxMessage(deps.db, input.outboxId, customer.id, "survey_nps")))
    return { replies: [], state, notice: "callback-invalid", answered: false };
  const result = await recordNpsScore(deps.db, {
    customerId: customer.id,
    score: input.score,
    surveyId: `outbox:${input.outboxId}`,
    now,
  });
  if (!result.ok) return { replies: [], state, notice: "callback-stale", answered: true };
  return {
    replies: [say(`nps-followup-${result.value.category}`)],
    state: enterFlow(state, { type: "nps_comment", feedbackId: result.value.feedbackId }, now),
    answered: true,
  };
}

/** Starts the SERVQUAL survey (its invitation's button, or /survey); resumes one in progress. */
export function startSurvey(
  deps: Pick<ConversationDeps, "timeoutMinutes">,
  input: { customer: ConversationCustomer | null; surveyId: string; state: ConversationState; now: Date },
): ButtonResult {
  const { customer, state, now } = input;
  if (!customer) return { replies: [unlinked()], state, answered: false };
  if (!customer.marketingConsent) return { replies: [say("servqual-not-now")], state, answered: true };
  const flow = activeFlow(state, now, deps.timeoutMinutes);
  const survey = flow?.type === "servqual" ? flow.state : startServqual(input.surveyId);
  return {
    replies: [servqualQuestionReply(survey)],
    state: enterFlow(state, { type: "servqual", state: survey }, now),
    answered: true,
  };
}

/** A SERVQUAL answer button (1-7) for question `step`; an old button is stale. */
export async function pressServqualAnswer(
  deps: ConversationDeps,
  input: { customer: ConversationCustomer | null; step: number; value: number; state: ConversationState; now: Date },
): Promise<ButtonResult> {
  const { customer, state, now } = input;
  if (!customer) return { replies: [unlinked()], state, answered: false };
  const flow = activeFlow(state, now, deps.timeoutMinutes);
  if (flow?.type !== "servqual") return { replies: [], state, notice: "callback-stale", answered: true };
  const result = await answerSurvey(deps, customer, state, flow.state, input.step, input.value, now);
  if (!result) return { replies: [], state, notice: "callback-stale", answered: false };
  return { ...result, answered: true };
}

/** Skip (this question) or Stop (the survey) buttons. */
export function pressServqualExit(
  deps: Pick<ConversationDeps, "timeoutMinutes">,
  input: { exit: "skip" | "stop"; step: number; state: ConversationState; now: Date },
): ButtonResult {
  const { state, now } = input;
  const flow = activeFlow(state, now, deps.timeoutMinutes);
  if (flow?.type !== "servqual" || flow.state.step !== input.step)
    return { replies: [], state, notice: "callback-stale", answered: true };
  if (input.exit === "stop") return { replies: [say("servqual-stopped")], state: leaveFlow(state), answered: true };
  // Skipping either half of a dimension skips the dimension: a gap needs both answers.
  const nextStep = flow.state.step - (flow.state.step % 2) + 2;
  if (nextStep >= SERVQUAL_STEPS) return { replies: [say("servqual-done")], state: leaveFlow(state), answered: true };
  const next: ServqualState = { ...flow.state, step: nextStep, expectation: null };
  return {
    replies: [servqualQuestionReply(next)],
    state: enterFlow(state, { type: "servqual", state: next }, now),
    answered: true,
  };
}

async function answerSurvey(
  deps: ConversationDeps,
  customer: ConversationCustomer,
  state: ConversationState,
  survey: ServqualState,
  step: number,
  value: number,
  now: Date,
): Promise<ConversationResult | null> {
  const result = await answerServqual(deps.db, customer.id, survey, { step, value, now });
  if (!result.ok) return null;
  if (!result.value.next) return { replies: [say("servqual-done")], state: leaveFlow(state) };
  return {
    replies: [servqualQuestionReply(result.value.next)],
    state: enterFlow(state, { type: "servqual", state: result.value.next }, now),
  };
}

/** The current SERVQUAL question with its 1-7 buttons and Skip / Stop. */
export function servqualQuestionReply(survey: ServqualState): Reply {
  const q = servqualQuestion(survey);
  const scale: ReplyButton[] = [];
  for (let v = 1; v <= 7; v++)
    scale.push({ label: String(v), action: { type: "servqual_answer", step: q.step, value: v } });
  return {
    lines: [
      { key: "servqual-progress", vars: { step: q.number, total: q.total } },
      { key: `servqual-${q.part}-${q.dimension}` },
      { key: "servqual-scale" },
    ],
    buttons: [
      scale,
      [
        { label: { key: "servqual-btn-skip" }, action: { type: "servqual_exit", exit: "skip", step: q.step } },
        { label: { key: "servqual-btn-stop" }, action: { type: "servqual_exit", exit: "stop", step: q.step } },
      ],
    ],
  };
}
