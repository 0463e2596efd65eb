import { StranglerError } from '../errors/StranglerError.ts';

/**
 * The spool holds records it cannot read, somewhere other than a torn last write. Start-up
 * stops: skipping the record would lose a command the legacy app already accepted.
 */
export class SpoolCorruptError extends StranglerError {
  constructor(file: string, offset: number, reason: string) {
    super(
      'spool_corrupt',
      `Spool file ${file} is corrupt at byte offset ${offset}: ${reason}. ` +
        'Refusing to start so no spooled append is skipped. Keep a copy of the spool directory, ' +
        'then repair the file (or move it aside and reconcile the entity) before restarting.',
      { status: 500, details: { file, offset, reason } },
    );
  }
}

/** The spool cannot take writes (closed, or a write/fsync failed and the file state is unknown). */
export class SpoolUnavailableError extends StranglerError {
  constructor(message: string, cause?: unknown) {
    super('spool_unavailable', message, { status: 503, ...(cause === undefined ? {} : { cause }) });
  }
}
