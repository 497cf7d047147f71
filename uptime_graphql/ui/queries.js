// Every GraphQL document the dashboard sends: the reads, the mutations and the two
// subscriptions that keep the page live.

export const STRIP = 20; // recent checks shown per target

const ROW_FIELDS = `
  id name kind url host port paused status
  checks(first: ${STRIP}) { edges { node { status } } }
  day: uptime(window: LAST_24_HOURS) { ratio latency { p95Ms } }
  week: uptime(window: LAST_7_DAYS) { ratio }
  month: uptime(window: LAST_30_DAYS) { ratio }`;

/** One page of the overview's rows. */
export const OVERVIEW = `query Overview($after: String) {
  targets(first: 100, after: $after) {
    edges { node { ${ROW_FIELDS} } }
    pageInfo { hasNextPage endCursor }
  }
}`;

/** One overview row, read again. */
export const ONE_ROW = `query Row($id: ID!) { target(id: $id) { ${ROW_FIELDS} } }`;

const UPTIME = "ratio coverage checks failures downtimeSeconds latency { p50Ms p95Ms }";

/** Everything a target's page shows, and what the edit form is filled from. */
export const TARGET = `query Target($id: ID!, $window: UptimeWindow!) {
  target(id: $id) {
    id name kind url host port intervalSeconds timeoutSeconds failureThreshold
    recoveryThreshold retryIntervalSeconds effectiveRetryIntervalSeconds public paused status
    statusChangedAt createdAt
    http { method headers { name } hasBody acceptedStatusCodes followRedirects maxRedirects
           verifyTls keyword keywordAbsent jsonAssertion { path operator value }
           degradedLatencyMs certExpiryDays ipFamily }
    tcp { tls verifyTls certExpiryDays degradedLatencyMs ipFamily }
    icmp { degradedLatencyMs ipFamily }
    hour: uptime(window: LAST_HOUR) { ${UPTIME} }
    day: uptime(window: LAST_24_HOURS) { ${UPTIME} }
    week: uptime(window: LAST_7_DAYS) { ${UPTIME} }
    month: uptime(window: LAST_30_DAYS) { ${UPTIME} }
    latencySeries(window: $window) { start checks failures p50Ms p95Ms }
    checks(first: 50) { edges { node { scheduledFor status latencyMs errorKind message httpStatus } } }
    incidents(first: 20) { edges { node { id startedAt resolvedAt cause } } }
  }
}`;

export const SERIES = `query Series($id: ID!, $window: UptimeWindow!) {
  target(id: $id) { latencySeries(window: $window) { start checks failures p50Ms p95Ms } }
}`;

export const INCIDENTS = `query Incidents($id: ID!) {
  target(id: $id) { incidents(first: 20) { edges { node { id startedAt resolvedAt cause } } } }
}`;

const RESULT = `... on Target { id name status paused }
  ... on ValidationError { message field problems { field message } }
  ... on NotFoundError { message }`;

export const CHECK_NOW = `mutation($id: ID!) { checkTargetNow(id: $id) { ${RESULT} } }`;
export const PAUSE = `mutation($id: ID!) { pauseTarget(id: $id) { ${RESULT} } }`;
export const RESUME = `mutation($id: ID!) { resumeTarget(id: $id) { ${RESULT} } }`;
export const DELETE = `mutation($id: ID!) { deleteTarget(id: $id) { ... on Deleted { id } ... on NotFoundError { message } } }`;
export const CREATE = `mutation($input: CreateTargetInput!) { result: createTarget(input: $input) { ${RESULT} } }`;
export const UPDATE = `mutation($input: UpdateTargetInput!) { result: updateTarget(input: $input) { ${RESULT} } }`;

// Batched: every check of every target, at most four messages a second however many
// targets there are (one message per check would be hundreds a second at scale).
export const CHECKS_COMPLETED =
  "subscription { checksCompleted(maxDelayMs: 250) { scheduledFor status latencyMs errorKind message httpStatus target { id } } }";

export const STATUS_CHANGED =
  "subscription { targetStatusChanged { target { id paused } previous current at } }";
