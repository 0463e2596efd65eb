import { randomUUID } from 'node:crypto';
import type { Db } from './db.ts';

/**
 * Rows as the tables hold them, and the JSON the API answers with. The UUID keys stay
 * here: no response carries them, every route names rows by username or slug.
 */
export interface UserRow {
  [column: string]: unknown;
  id: string;
  username: string;
  email: string;
  password_hash: string;
  bio: string | null;
  image: string | null;
  record_status: string;
  created_at: string;
  updated_at: string;
}

export interface ArticleRow {
  [column: string]: unknown;
  id: string;
  slug: string;
  title: string;
  description: string;
  body: string;
  author_id: string;
  favorites_count: number;
  record_status: string;
  created_at: string;
  updated_at: string;
}

export interface FavoriteRow {
  [column: string]: unknown;
  id: string;
  user_id: string;
  article_id: string;
  record_status: string;
  created_at: string;
  updated_at: string;
}

export const ACTIVE = 'active';
export const DELETED = 'deleted';

export const newId = () => randomUUID();

export interface ProfileJson {
  username: string;
  bio: string | null;
  image: string | null;
  following: boolean;
}

export interface UserJson {
  email: string;
  token: string;
  username: string;
  bio: string | null;
  image: string | null;
}

export interface ArticleJson {
  slug: string;
  title: string;
  description: string;
  body: string;
  tagList: string[];
  createdAt: string;
  updatedAt: string;
  favorited: boolean;
  favoritesCount: number;
  author: ProfileJson;
}

/** '2026-01-02 03:04:05.678' (UTC, as stored) → '2026-01-02T03:04:05.678Z' */
export const isoFromDb = (text: string) => `${text.replace(' ', 'T')}Z`;

export const toProfileJson = (u: UserRow): ProfileJson => ({ username: u.username, bio: u.bio, image: u.image, following: false });

export const toUserJson = (u: UserRow, token: string): UserJson => ({
  email: u.email,
  token,
  username: u.username,
  bio: u.bio,
  image: u.image,
});

export const liveUserByName = (db: Db, username: string) =>
  db<UserRow>('users').where({ username }).whereNot({ record_status: DELETED }).first();

export const liveArticleBySlug = (db: Db, slug: string) =>
  db<ArticleRow>('articles').where({ slug }).whereNot({ record_status: DELETED }).first();

export async function toArticleJson(db: Db, a: ArticleRow, viewer: UserRow | undefined): Promise<ArticleJson> {
  const author = await db<UserRow>('users').where({ id: a.author_id }).first();
  const favorited = viewer
    ? (await db<FavoriteRow>('favorites').where({ user_id: viewer.id, article_id: a.id, record_status: ACTIVE }).count()) > 0
    : false;
  return {
    slug: a.slug,
    title: a.title,
    description: a.description,
    body: a.body,
    tagList: [],
    createdAt: isoFromDb(a.created_at),
    updatedAt: isoFromDb(a.updated_at),
    favorited,
    favoritesCount: Number(a.favorites_count),
    author: toProfileJson(author!),
  };
}
