// creds.mjs asks one credential provider of the AWS SDK for JavaScript v3
// for credentials and prints them as one line of JSON. e2e/js_test.go runs
// it against a real credd with the environment under test:
//
//   node creds.mjs imds       fromInstanceMetadata   (AWS_EC2_METADATA_SERVICE_ENDPOINT)
//   node creds.mjs container  fromContainerMetadata  (AWS_CONTAINER_CREDENTIALS_FULL_URI,
//                                                     AWS_CONTAINER_AUTHORIZATION_TOKEN only)
//   node creds.mjs http       fromHttp               (the same, also _TOKEN_FILE)
//   node creds.mjs chain      fromNodeProviderChain  (the default chain, as SDK clients use it)
//   node creds.mjs login      fromLoginCredentials   (an `aws login` session: AWS_PROFILE's
//                                                     login_session, AWS_LOGIN_CACHE_DIRECTORY)
//
// On failure it prints the error to stderr and exits 1.
import {
  fromContainerMetadata,
  fromHttp,
  fromInstanceMetadata,
  fromLoginCredentials,
  fromNodeProviderChain,
} from "@aws-sdk/credential-providers";

const providers = {
  imds: fromInstanceMetadata,
  container: fromContainerMetadata,
  http: fromHttp,
  chain: fromNodeProviderChain,
  login: fromLoginCredentials,
};

const mode = process.argv[2];
const provider = Object.hasOwn(providers, mode) ? providers[mode] : undefined;
if (!provider) {
  console.error(`usage: node creds.mjs ${Object.keys(providers).join("|")}`);
  process.exit(2);
}

try {
  const c = await provider()();
  console.log(
    JSON.stringify({
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      expiration: c.expiration ? c.expiration.toISOString() : null,
      accountId: c.accountId ?? null,
      // Feature ids the SDK records for its user agent, e.g.
      // CREDENTIALS_HTTP or CREDENTIALS_IMDS: which path was taken.
      features: Object.keys(c.$source ?? {}).sort(),
    }),
  );
} catch (e) {
  const extra = [];
  if (e?.statusCode !== undefined) extra.push(`status ${e.statusCode}`);
  if (e?.Code !== undefined) extra.push(`Code ${e.Code}`);
  if (e?.Message !== undefined) extra.push(`Message ${e.Message}`);
  console.error(`${e?.name ?? "Error"}: ${e?.message ?? e}${extra.length ? ` (${extra.join(", ")})` : ""}`);
  // Let pending output drain instead of process.exit (pipes are
  // asynchronous on some platforms).
  process.exitCode = 1;
}
