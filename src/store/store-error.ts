// A state store that cannot be opened (locked, corrupted, too new): the
// daemon refuses to start with one clear line and exit code 5.
export class StoreError extends Error {
  readonly file: string;
  constructor(file: string, problem: string) {
    super(`state store ${file}: ${problem}`);
    this.name = 'StoreError';
    this.file = file;
  }
}
