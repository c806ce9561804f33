// Evaluates AWS requests against IAM policies with @cloud-copilot/iam-simulate (its iam-data
// package carries the Service Authorization Reference): reads [{id, simulation}] as JSON on
// stdin, writes [{id, result, errors, allowedBy, deniedBy}] as JSON on stdout.
const { runSimulation } = require('@cloud-copilot/iam-simulate')

async function main() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  const requests = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  const results = []
  for (const { id, simulation } of requests) {
    const response = await runSimulation(simulation, {})
    if (response.resultType === 'error') {
      results.push({ id, result: 'Error', errors: response.errors })
      continue
    }
    const result = response.resultType === 'single' ? response.result : response.results[0]
    const analysis = result.analysis || {}
    const explains = (kind) =>
      ((analysis.identityAnalysis || {})[kind] || []).map((s) => s.explain && s.explain.identifier)
    results.push({
      id,
      result: response.overallResult,
      allowedBy: explains('allowStatements'),
      deniedBy: explains('denyStatements'),
    })
  }
  process.stdout.write(JSON.stringify(results))
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error))
  process.exit(2)
})
