-- Marketing consent is opt-in: a customer imported or created without an explicit consent is not
-- marketable. Existing rows keep the consent they have. consent_at / consent_source record when and
-- where a customer gave (or withdrew) it, written by the bot and the importer.

-- AlterTable
ALTER TABLE "customers" ADD COLUMN     "consent_at" TIMESTAMP(3),
ADD COLUMN     "consent_source" TEXT,
ALTER COLUMN "marketing_consent" SET DEFAULT false;

