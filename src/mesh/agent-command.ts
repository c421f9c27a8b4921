/**
 * The command line that starts an agent on a new machine with an enrollment key: the one text the
 * API returns as `agentCommand` (dashboard) and the CLI prints. Pure.
 */

/** The interface name the agent creates unless told otherwise. */
export const AGENT_INTERFACE = "wsync0";

/**
 * Returns the shell line to paste, as root, on the machine to enroll where the agent is installed
 * (`wiresync-agent`, see the README's "Installing the agent"; `npm run agent` runs the same in a checkout):
 * it reaches the server at `serverUrl` (no trailing slash) and registers with `enrollmentKey`.
 * The key is a secret: the line goes only to whoever created the key.
 */
export function agentCommand(serverUrl: string, enrollmentKey: string): string {
  return `WIRESYNC_URL=${serverUrl} AGENT_ENROLLMENT_KEY=${enrollmentKey} AGENT_INTERFACE=${AGENT_INTERFACE} AGENT_NAME=$(hostname) wiresync-agent`;
}
