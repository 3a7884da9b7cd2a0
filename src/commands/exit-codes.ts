/** Exit statuses shared by every command. */
export const EXIT_OK = 0;
/** The command ran and the answer is "no" (a failed check, a submission not accepted), or it broke. */
export const EXIT_FAILURE = 1;
/** The configuration or the command line needs fixing. */
export const EXIT_BAD_CONFIG = 2;
