// grammY session storage over the `conversations` table, so a survey in progress survives a
// restart. Reads remember what was loaded; a write of the same value (or of an empty session
// where none existed) is skipped, so an update that changes nothing writes nothing.
import type { StorageAdapter } from "grammy";
import type { Database } from "../../core/db/client";

export class PrismaSessionStorage<T extends object> implements StorageAdapter<T> {
  private readonly loaded = new Map<string, string | undefined>();

  constructor(private readonly db: Database) {}

  async read(key: string): Promise<T | undefined> {
    const row = await this.db.prisma.conversation.findUnique({ where: { key }, select: { data: true } });
    const data = row ? (row.data as T) : undefined;
    this.loaded.set(key, data === undefined ? undefined : JSON.stringify(data));
    return data;
  }

  async write(key: string, value: T): Promise<void> {
    const json = JSON.stringify(value);
    const before = this.loaded.get(key);
    this.loaded.delete(key);
    if (json === before || (before === undefined && json === "{}")) return;
    await this.db.prisma.conversation.upsert({
      where: { key },
      create: { key, data: value as object },
      update: { data: value as object },
    });
  }

  async delete(key: string): Promise<void> {
    const hadRow = this.loaded.has(key) ? this.loaded.get(key) !== undefined : true;
    this.loaded.delete(key);
    if (hadRow) await this.db.prisma.conversation.deleteMany({ where: { key } });
  }
}
