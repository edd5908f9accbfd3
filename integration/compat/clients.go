package compat

// Clients are the rows of the matrix, in the order of the table.
func Clients() []Client {
	return []Client{
		{Name: "java-4.4", Description: "Apache Kafka Java client (org.apache.kafka:kafka-clients)", OIDC: true, Runner: JavaRunner{KafkaVersion: "4.4.0"}},
		{Name: "java-3.9", Description: "Apache Kafka Java client (org.apache.kafka:kafka-clients)", OIDC: true, Runner: JavaRunner{KafkaVersion: "3.9.2"}},
		{Name: "kcat", Description: "kcat (Debian package, librdkafka)", OIDC: true, Runner: KcatRunner{}},
		{Name: "confluent-kafka-python", Description: "confluent-kafka for Python (PyPI, bundles librdkafka)", OIDC: true, Runner: PythonRunner{}},
		{Name: "kafkajs", Description: "KafkaJS (npm kafkajs)", OIDC: false, Runner: KafkaJSRunner{}},
		{Name: "franz-go", Description: "franz-go (github.com/twmb/franz-go)", Runner: FranzGoRunner{}},
		{Name: "sarama", Description: "sarama (github.com/IBM/sarama)", Runner: SaramaRunner{}},
	}
}
