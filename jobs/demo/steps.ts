// The parts of the main pipeline that `npm run demo` runs, in order, after generating the
// synthetic retailer. Each capability adds its step here.
import type { DemoStep } from "./demo-step";
import { datasetStep } from "./dataset.step";
import { analyticsStep } from "./analytics.step";
import { campaignStep } from "./campaign.step";
import { upliftStep } from "./uplift.step";
import { digestStep } from "./digest.step";
import { telegramStep } from "./telegram.step";

export const demoSteps: DemoStep[] = [datasetStep, analyticsStep, campaignStep, upliftStep, digestStep, telegramStep];
