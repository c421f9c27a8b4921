/** Small zod building blocks shared by the input schemas of several modules. */
import { z } from "zod";

/**
 * Trimmed, non-empty text on one line, of at most `max` characters: labels, names, subjects. No CR,
 * LF or NUL, so it can never split a log line, a header or a config line.
 */
export const oneLine = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\r\n\0]*$/, "must be one line");
