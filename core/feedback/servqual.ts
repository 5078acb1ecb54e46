// The SERVQUAL short survey: five dimensions, each asked twice on a 1-7 scale (what an excellent
// shop would do, then what we do), one question at a time. The progress is a small state object
// the caller keeps (the Telegram bot stores it in `conversations`, so a restart resumes it); each
// completed dimension is stored at once as a `feedback` row with its gap (perception - expectation).
import type { Database } from "../db/client";
import { err, ok, type Result } from "../result";

export const SERVQUAL_DIMENSIONS = ["tangibles", "reliability", "responsiveness", "assurance", "empathy"] as const;
export type ServqualDimension = (typeof SERVQUAL_DIMENSIONS)[number];
export const SERVQUAL_STEPS = SERVQUAL_DIMENSIONS.length * 2;

export interface ServqualState {
  surveyId: string;
  /** 0-based index of the question being asked. */
  step: number;
  /** The expectation answered for the current dimension, waiting for its perception. */
  expectation: number | null;
}

export interface ServqualQuestion {
  step: number;
  /** 1-based, for "Question 3 of 10". */
  number: number;
  total: number;
  dimension: ServqualDimension;
  part: "expect" | "perceive";
}

/** A new survey at its first question. */
export function startServqual(surveyId: string): ServqualState {
  return { surveyId, step: 0, expectation: null };
}

/** The question for a state's current step. */
export function servqualQuestion(state: Pick<ServqualState, "step">): ServqualQuestion {
  const dimension = SERVQUAL_DIMENSIONS[Math.floor(state.step / 2)]!;
  return {
    step: state.step,
    number: state.step + 1,
    total: SERVQUAL_STEPS,
    dimension,
    part: state.step % 2 === 0 ? "expect" : "perceive",
  };
}

export type ServqualAnswerError = { type: "stale" } | { type: "invalid_value" };

/**
 * Records the answer to the current question. An answer for another step (an old button, a
 * double tap) is `stale` and changes nothing.
 * @returns the next state, or `null` when the survey is complete.
 */
export async function answerServqual(
  db: Database,
  customerId: number,
  state: ServqualState,
  answer: { step: number; value: number; now: Date },
): Promise<
  Result<
    { next: ServqualState | null; saved: { dimension: ServqualDimension; gap: number } | null },
    ServqualAnswerError
  >
> {
  if (answer.step !== state.step || state.step >= SERVQUAL_STEPS) return err({ type: "stale" });
  if (!Number.isInteger(answer.value) || answer.value < 1 || answer.value > 7) return err({ type: "invalid_value" });
  const question = servqualQuestion(state);
  if (question.part === "expect")
    return ok({ next: { ...state, step: state.step + 1, expectation: answer.value }, saved: null });
  if (state.expectation === null) return err({ type: "stale" });
  const gap = answer.value - state.expectation;
  const existing = await db.prisma.feedback.findFirst({
    where: { customerId, kind: "servqual", surveyId: state.surveyId, dimension: question.dimension },
    select: { id: true },
  });
  if (!existing) {
    await db.prisma.feedback.create({
      data: {
        customerId,
        kind: "servqual",
        dimension: question.dimension,
        expectation: state.expectation,
        perception: answer.value,
        gap,
        surveyId: state.surveyId,
        createdAt: answer.now,
      },
    });
  }
  const next = state.step + 1 >= SERVQUAL_STEPS ? null : { ...state, step: state.step + 1, expectation: null };
  return ok({ next, saved: { dimension: question.dimension, gap } });
}
