-- CreateTable
CREATE TABLE "erasure_suppressions" (
    "digest" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "erasure_suppressions_pkey" PRIMARY KEY ("digest")
);

-- CreateTable
CREATE TABLE "install_secrets" (
    "name" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "install_secrets_pkey" PRIMARY KEY ("name")
);

