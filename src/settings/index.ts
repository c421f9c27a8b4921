/**
 * Settings: key/value configuration that operators change at run time (the reconcile schedule, and
 * secrets such as provider keys), stored in Postgres. Secret values are sealed with AES-256-GCM and
 * are never returned by any read meant for a response.
 */
export * from "./settings.service.js";
