import { describe, expect, it } from 'vitest';
import { actorOf, bearerClaim } from '../../src/capture/actor.ts';
import { loadConfig } from '../../src/config/index.ts';

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const jwt = (payload: unknown) => `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}.c2lnbmF0dXJl`;

describe('the actor from a JWT claim', () => {
  it('decodes the payload of a bearer token, unverified, and takes the claim', () => {
    expect(bearerClaim(`Bearer ${jwt({ username: 'ann', id: 7 })}`, 'username')).toBe('ann');
    expect(bearerClaim(`bearer  ${jwt({ username: 'ann' })}`, 'username')).toBe('ann');
    expect(bearerClaim(`Bearer ${jwt({ sub: 42 })}`, 'sub')).toBe('42');
    expect(bearerClaim(`Bearer ${jwt({ user: { name: 'bob' } })}`, 'user.name')).toBe('bob');
    expect(bearerClaim(`Bearer ${jwt({ name: 'ünïcødé' })}`, 'name')).toBe('ünïcødé');
  });

  it('a malformed or unusable token gives no actor, never an error', () => {
    const bad = [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      `Basic ${b64('ann:secret')}`,
      `Digest ${jwt({ username: 'ann' })}`,
      'Token',
      'Bearer not-a-jwt',
      'Bearer a.b',
      'Bearer a.b.c.d',
      `Bearer x.${b64('{"username": ')}.sig`, // truncated JSON
      'Bearer x.!!!.sig', // not base64url
      `Bearer x.${b64('"just a string"')}.sig`,
      `Bearer x.${b64('[1,2]')}.sig`,
      `Bearer x.${b64('null')}.sig`,
      `Bearer ${jwt({ other: 'ann' })}`,
      `Bearer ${jwt({ username: '' })}`,
      `Bearer ${jwt({ username: { first: 'ann' } })}`,
      `Bearer ${jwt({ username: ['ann'] })}`,
      `Bearer ${jwt({ username: null })}`,
    ];
    for (const auth of bad) expect(bearerClaim(auth, 'username'), String(auth)).toBeUndefined();
    // RealWorld/Conduit clients send `Authorization: Token <jwt>`: the same claim.
    expect(bearerClaim(`Token ${jwt({ username: 'ann' })}`, 'username')).toBe('ann');
    expect(bearerClaim(`Bearer ${jwt({ user: 'flat' })}`, 'user.name')).toBeUndefined();
  });

  it('the claim wins over the actor header; the header is the fallback', () => {
    const source = { header: 'x-user-id', jwtClaim: 'username' };
    expect(actorOf({ authorization: `Bearer ${jwt({ username: 'ann' })}`, 'x-user-id': 'bob' }, source)).toBe('ann');
    expect(actorOf({ authorization: 'Bearer garbage', 'x-user-id': 'bob' }, source)).toBe('bob');
    expect(actorOf({}, source)).toBeUndefined();
    expect(actorOf({ 'x-user-id': 'bob' }, { header: 'X-User-Id' })).toBe('bob');
  });

  it('a credential header is never the actor, whatever the config says', () => {
    const token = `Bearer ${jwt({ username: 'ann' })}`;
    expect(actorOf({ authorization: token }, { header: 'Authorization' })).toBeUndefined();
    expect(actorOf({ cookie: 'sid=s3cr3t' }, { header: 'cookie' })).toBeUndefined();
    expect(actorOf({ 'proxy-authorization': 'Basic eA==' }, { header: 'proxy-authorization' })).toBeUndefined();
  });
});

describe('config check of the actor', () => {
  const load = (server: string) => () =>
    loadConfig({ text: `legacy: { upstream: "http://127.0.0.1:3000" }\nserver: ${server}\n`, env: {} });

  it('refuses a credential header as server.actorHeader, with the reason and the jwtClaim alternative', () => {
    for (const name of ['Authorization', 'cookie', 'Proxy-Authorization'])
      expect(load(`{ actorHeader: ${name} }`)).toThrow(
        new RegExp(
          `server\\.actorHeader: "${name}" carries a credential: .*stored as is in every event's metadata.*actor: \\{ jwtClaim: username \\}`,
        ),
      );
  });

  it('takes actor: { jwtClaim } next to actorHeader', () => {
    expect(load('{ actor: { jwtClaim: username } }')().server).toMatchObject({ actorHeader: 'x-user-id', actor: { jwtClaim: 'username' } });
    expect(load('{ actor: username }')).toThrow(/server\.actor: expected a mapping with jwtClaim, e\.g\. \{ jwtClaim: username \}/);
    expect(load('{}')().server.actor).toBeUndefined();
  });
});
