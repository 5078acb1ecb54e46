import { analyticsTools } from "./analytics-tools";
import { staffTools } from "./staff-tools";
import type { AssistantTool } from "./toolbox";

/** Every tool the staff assistant may call. All are read-only. */
export const assistantTools: readonly AssistantTool[] = [
  ...(analyticsTools as AssistantTool[]),
  ...(staffTools as AssistantTool[]),
];
