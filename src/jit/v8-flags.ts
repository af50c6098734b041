/** Did the user pass a V8 flag containing `name` (node's command line or NODE_OPTIONS)? Then we leave it alone. */
export function userFlag(name: string): boolean {
  return `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`.includes(name);
}
