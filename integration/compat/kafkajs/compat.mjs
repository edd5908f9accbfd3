// KafkaJS runner of the client compatibility matrix (package
// integration/compat): it performs the steps of the Plan whose JSON file is
// its last argument, as the package comment of integration/compat describes,
// and prints one line per step:
//
//   STEP <step> ok <what happened>
//   STEP <step> fail <the client's error>
//
// Every step runs even when an earlier one failed, each bounded by
// plan.step_timeout_ms. The exit status is 0 when every step is ok, 1
// otherwise. KafkaJS keeps timers and sockets alive, so the runner
// disconnects every client it made and then calls process.exit.
//
// KafkaJS has no OIDC support of its own: with OAUTHBEARER it sends the
// token the test fetched (plan.token) through oauthBearerProvider.

import { readFile } from 'node:fs/promises'
import { Kafka, Partitioners, logLevel } from 'kafkajs'

const plan = JSON.parse(await readFile(process.argv.at(-1), 'utf8'))
const stepTimeoutMs = plan.step_timeout_ms > 0 ? plan.step_timeout_ms : 60_000

// A rejection nobody awaits (a client torn down by a step's timeout, say)
// must not end the process before the remaining steps have run.
process.on('unhandledRejection', (err) => {
  console.error(`unhandled rejection: ${describe(err)}`)
})

// lastError is the last error KafkaJS logged in the current step, which a
// step's timeout quotes: KafkaJS retries most errors until then.
let lastError = ''

// logCreator writes KafkaJS's warnings and errors to stderr, one short line
// each, and remembers the last error.
function logCreator() {
  return ({ namespace, level, label, log }) => {
    const line = `[${namespace}] ${log.message}${log.error ? `: ${log.error}` : ''}`
    if (level <= logLevel.ERROR) lastError = line
    console.error(`kafkajs ${label} ${line}`)
  }
}

const kafka = new Kafka({
  clientId: 'kafka-auth-proxy-compat-kafkajs',
  brokers: [plan.bootstrap],
  ssl: false,
  sasl: saslOptions(plan),
  logLevel: logLevel.WARN,
  logCreator,
  connectionTimeout: 10_000,
  requestTimeout: 30_000,
})

// saslOptions maps the plan's login to KafkaJS's sasl option.
function saslOptions(p) {
  switch (p.mechanism) {
    case 'PLAIN':
      return { mechanism: 'plain', username: p.username, password: p.password }
    case 'OAUTHBEARER':
      if (!p.token) throw new Error('plan has no token for OAUTHBEARER')
      return { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: p.token }) }
    default:
      throw new Error(`unsupported mechanism ${JSON.stringify(p.mechanism)}`)
  }
}

// describe renders an error on one line: KafkaJS's class name, its protocol
// error type when there is one, the message, and the chain of causes.
function describe(err) {
  const parts = []
  for (let e = err, depth = 0; e != null && depth < 5; e = e.cause, depth++) {
    if (!(e instanceof Error)) {
      parts.push(String(e))
      break
    }
    const type = e.type ? ` ${e.type}` : ''
    parts.push(`${e.name}${type}: ${e.message}`)
  }
  return parts.join(' (caused by ').replace(/\s+/g, ' ') + ')'.repeat(parts.length - 1)
}

function records(step) {
  const values = plan.records?.[step] ?? []
  if (values.length === 0) throw new Error(`plan has no records for step ${step}`)
  return values
}

function messages(values) {
  return values.map((v) => ({ key: v, value: v }))
}

// acknowledged summarises a send's RecordMetadata: partitions and offsets.
function acknowledged(values, metadata) {
  const where = metadata
    .map((m) => `${m.topicName}[${m.partition}]@${m.baseOffset ?? m.offset}`)
    .join(', ')
  return `${values.length} records acknowledged (${where})`
}

function newProducer(track, opts = {}) {
  return track(
    kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      ...opts,
    }),
  )
}

// consume reads plan.topic in plan.group until every value of want has been
// seen, failing as soon as a value of forbid shows up, then commits the
// offsets after the last record read of each partition and checks with the
// admin API that the group's committed offsets are those. A partition
// without a committed offset starts from the earliest one (fromBeginning).
async function consume(track, want, forbid = []) {
  const missing = new Set(want)
  const forbidden = new Set(forbid)
  const next = new Map() // partition -> offset after the last record read
  let read = 0

  let settle
  const finished = new Promise((resolve, reject) => {
    settle = { resolve, reject }
  })
  const consumer = track(kafka.consumer({ groupId: plan.group, allowAutoTopicCreation: false }))
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) settle.reject(payload.error)
  })
  await consumer.connect()
  await consumer.subscribe({ topics: [plan.topic], fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const value = message.value?.toString()
      read++
      const after = BigInt(message.offset) + 1n
      if (!next.has(partition) || next.get(partition) < after) next.set(partition, after)
      if (forbidden.has(value)) {
        settle.reject(
          new Error(
            `read ${JSON.stringify(value)} again (partition ${partition}, offset ${message.offset}): ` +
              'the group did not resume from its committed offset',
          ),
        )
        return
      }
      missing.delete(value)
      if (missing.size === 0) settle.resolve()
    },
  })
  await finished
  consumer.pause([{ topic: plan.topic }])

  const commits = [...next].map(([partition, offset]) => ({
    topic: plan.topic,
    partition,
    offset: offset.toString(),
  }))
  await consumer.commitOffsets(commits)

  const admin = track(kafka.admin())
  await admin.connect()
  const [fetched] = await admin.fetchOffsets({ groupId: plan.group, topics: [plan.topic] })
  const committed = new Map(fetched.partitions.map((p) => [p.partition, p.offset]))
  for (const c of commits) {
    if (committed.get(c.partition) !== c.offset) {
      throw new Error(
        `committed offset of partition ${c.partition} is ${committed.get(c.partition)}, want ${c.offset}`,
      )
    }
  }
  await consumer.disconnect()
  const offsets = commits.map((c) => `[${c.partition}]=${c.offset}`).join(', ')
  return `read ${read} records (all ${want.length} expected), committed ${offsets} (checked with OffsetFetch)`
}

const steps = {
  async produce(track) {
    const values = records('produce')
    const producer = newProducer(track)
    await producer.connect()
    const md = await producer.send({ topic: plan.topic, acks: -1, messages: messages(values) })
    return acknowledged(values, md)
  },

  async consume(track) {
    return consume(track, records('produce'))
  },

  async denied(track) {
    const values = records('denied')
    const producer = newProducer(track)
    await producer.connect()
    let md
    try {
      md = await producer.send({ topic: plan.denied_topic, acks: -1, messages: messages(values) })
    } catch (err) {
      if (isAuthorizationError(err)) return describe(err)
      throw err
    }
    throw new Error(`produce to ${plan.denied_topic} was not denied: ${acknowledged(values, md)}`)
  },

  async idempotent(track) {
    const values = records('idempotent')
    const producer = newProducer(track, { idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    const md = await producer.send({ topic: plan.tx_topic, acks: -1, messages: messages(values) })
    return `idempotent producer: ${acknowledged(values, md)}`
  },

  async transaction(track) {
    const values = records('transaction')
    const aborted = plan.aborted_records ?? []
    if (aborted.length === 0) throw new Error('plan has no aborted_records')
    const producer = newProducer(track, {
      transactionalId: plan.transactional_id,
      idempotent: true,
      maxInFlightRequests: 1,
    })
    await producer.connect()
    await inTransaction(producer, (tx) => tx.send({ topic: plan.tx_topic, messages: messages(values) }), 'commit')
    await inTransaction(producer, (tx) => tx.send({ topic: plan.tx_topic, messages: messages(aborted) }), 'abort')
    return `committed a transaction of ${values.length} records, aborted one of ${aborted.length}`
  },

  async resume(track) {
    const values = records('resume')
    const producer = newProducer(track)
    await producer.connect()
    const md = await producer.send({ topic: plan.topic, acks: -1, messages: messages(values) })
    await producer.disconnect()
    const read = await consume(track, values, plan.records?.produce ?? [])
    return `${acknowledged(values, md)}; ${read}; none of the first records`
  },
}

// inTransaction runs fill in a new transaction and ends it with end
// ('commit' or 'abort'); a failure aborts the transaction if it can.
async function inTransaction(producer, fill, end) {
  const tx = await producer.transaction()
  try {
    await fill(tx)
    await tx[end]()
  } catch (err) {
    if (tx.isActive()) await tx.abort().catch(() => {})
    throw new Error(`transaction to ${end}: ${describe(err)}`)
  }
}

// isAuthorizationError tells whether err, or one of its causes, is a Kafka
// authorization error (TOPIC_AUTHORIZATION_FAILED and the like).
function isAuthorizationError(err) {
  for (let e = err; e != null; e = e.cause) {
    if (typeof e.type === 'string' && e.type.endsWith('_AUTHORIZATION_FAILED')) return true
  }
  return false
}

// runStep runs one step within the step timeout, prints its result, and
// disconnects every client the step made, whatever happened.
async function runStep(name) {
  const fn = steps[name]
  if (!fn) {
    console.log(`STEP ${name} fail the KafkaJS runner does not know this step`)
    return false
  }
  const clients = []
  const track = (c) => (clients.push(c), c)
  lastError = ''
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const last = lastError ? ` (last KafkaJS error: ${lastError})` : ''
      reject(new Error(`step timed out after ${stepTimeoutMs} ms${last}`))
    }, stepTimeoutMs)
  })
  let ok
  try {
    const detail = await Promise.race([fn(track), timeout])
    console.log(`STEP ${name} ok ${detail}`)
    ok = true
  } catch (err) {
    console.log(`STEP ${name} fail ${describe(err)}`)
    ok = false
  } finally {
    clearTimeout(timer)
  }
  await disconnectAll(clients)
  return ok
}

// disconnectAll disconnects clients, giving up after 10 seconds: the process
// exits anyway.
async function disconnectAll(clients) {
  let timer
  const bound = new Promise((resolve) => {
    timer = setTimeout(resolve, 10_000)
  })
  await Promise.race([Promise.allSettled(clients.map((c) => c.disconnect())), bound])
  clearTimeout(timer)
}

let allOK = true
for (const name of plan.steps ?? []) {
  if (!(await runStep(name))) allOK = false
}
process.exit(allOK ? 0 : 1)
