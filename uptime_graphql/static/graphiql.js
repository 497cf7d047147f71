// GraphiQL for uptime: queries and mutations POSTed to this page's own URL, subscriptions
// over graphql-transport-ws (graphql-ws) on the same URL. The token typed into GraphiQL's
// headers editor ({"Authorization": "Bearer ..."}) goes with both: as the HTTP header, and in
// the WebSocket's connection_init payload.
(function () {
  "use strict";

  const endpoint = new URL(window.location.pathname, window.location.href);
  const socketEndpoint = new URL(endpoint);
  socketEndpoint.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";
  const tokenRequired = document.body.dataset.tokenRequired === "true";

  const DASHBOARD = `# What the dashboard shows: every target, its state, last check and uptime.
# Ctrl-Enter runs it; the other tabs hold a mutation and a subscription.
query Dashboard {
  targets(first: 100) {
    edges {
      node {
        id
        name
        kind
        status
        paused
        lastCheck { status latencyMs errorKind message finishedAt }
        day: uptime(window: LAST_24_HOURS) { ratio coverage latency { p95Ms } }
        week: uptime(window: LAST_7_DAYS) { ratio }
        month: uptime(window: LAST_30_DAYS) { ratio downtimeSeconds }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
`;

  const CREATE = `# Watch this API's own /healthz every 10 seconds.
mutation CreateTarget($input: CreateTargetInput!) {
  createTarget(input: $input) {
    ... on Target { id name status }
    ... on ValidationError { message field problems { field message } }
  }
}
`;

  const SUBSCRIBE = `# Every check as it is recorded (pass targetIds: [...] for some targets only).
subscription Checks {
  checkCompleted {
    scheduledFor
    status
    latencyMs
    errorKind
    target { name }
  }
}
`;

  const createVariables = JSON.stringify(
    {
      input: {
        name: "uptime API",
        kind: "HTTP",
        url: new URL("/healthz", endpoint).href,
        intervalSeconds: 10,
        timeoutSeconds: 5,
      },
    },
    null,
    2,
  );
  const headers = tokenRequired
    ? JSON.stringify({ Authorization: "Bearer paste-the-UPTIME_API_TOKEN-here" }, null, 2)
    : "";

  function authorizationOf(given) {
    for (const [name, value] of Object.entries(given || {})) {
      if (name.toLowerCase() === "authorization") return String(value);
    }
    return null;
  }

  function isSubscription(documentAST, operationName) {
    if (!documentAST) return false;
    const operations = documentAST.definitions.filter((d) => d.kind === "OperationDefinition");
    const chosen = operationName
      ? operations.find((d) => d.name && d.name.value === operationName)
      : operations[0];
    return Boolean(chosen) && chosen.operation === "subscription";
  }

  // One WebSocket client at a time, for the Authorization header it was opened with.
  let socket = null;

  function socketClient(authorization) {
    if (socket && socket.authorization === authorization) return socket.client;
    if (socket) socket.client.dispose();
    const client = graphqlWs.createClient({
      url: socketEndpoint.href,
      lazy: true,
      connectionParams: authorization ? { Authorization: authorization } : {},
      // A refused token (4403) will not get better by retrying.
      shouldRetry: (event) => !(event && event.code === 4403),
    });
    socket = { authorization, client };
    return client;
  }

  function describe(error) {
    if (error instanceof Error) return error;
    if (error && error.code === 4403) {
      return new Error("the server refused the token: put it in the headers editor, " +
        'as {"Authorization": "Bearer <UPTIME_API_TOKEN>"}');
    }
    if (error && typeof error.code === "number") {
      return new Error(`the server closed the subscription: ${error.code} ${error.reason}`);
    }
    return new Error(String(error));
  }

  function subscribe(client, params) {
    return {
      subscribe(sink) {
        const unsubscribe = client.subscribe(params, {
          next: (value) => sink.next(value),
          error: (error) => sink.error(describe(error)),
          complete: () => sink.complete(),
        });
        return { unsubscribe };
      },
    };
  }

  async function post(params, given) {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...given },
      body: JSON.stringify(params),
    });
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`${response.status} ${response.statusText}: ${text}`);
    }
  }

  function fetcher(params, options) {
    const given = (options && options.headers) || {};
    if (isSubscription(options && options.documentAST, params.operationName)) {
      return subscribe(socketClient(authorizationOf(given)), params);
    }
    return post(params, given);
  }

  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultEditorToolsVisibility: tokenRequired ? "headers" : "variables",
      defaultHeaders: headers,
      defaultTabs: [
        { query: DASHBOARD, headers },
        { query: CREATE, variables: createVariables, headers },
        { query: SUBSCRIBE, headers },
      ],
    }),
  );
})();
