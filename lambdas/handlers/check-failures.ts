/** Lambda entry for the hourly failure check (three warning emails, then the export stops). */
export const handler = async (): Promise<void> => {
  throw new Error('check-failures is not implemented yet');
};
