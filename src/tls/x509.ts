/**
 * @peculiar/x509, loaded after the Reflect metadata polyfill its dependency
 * tsyringe needs at import time. Import X.509 classes from here, never from
 * "@peculiar/x509" directly, so the order cannot be got wrong.
 */
import "reflect-metadata";
export * from "@peculiar/x509";
