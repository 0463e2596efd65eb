export { createLegacyArticlesApp, type LegacyArticlesOptions } from './app.ts';
export { startLegacyArticles, type StartLegacyArticlesOptions, type RunningLegacyArticles } from './server.ts';
export { openDatabase, type Database, type Db } from './db.ts';
export { migrate } from './migrate.ts';
export type { ArticleJson, ProfileJson, UserJson } from './repository.ts';
