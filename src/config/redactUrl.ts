/**
 * Masks the password of every URL in a text (`mysql://app:s3cret@db/legacy` →
 * `mysql://app:***@db/legacy`). Config values and error messages pass through this before
 * they are shown, because database URLs usually carry credentials from the environment.
 */
export function redactUrl(text: string): string {
  return text.replace(/(\/\/[^:/@\s]+:)[^@\s]*@/g, '$1***@');
}
