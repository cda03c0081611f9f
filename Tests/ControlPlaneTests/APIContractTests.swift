import BackupCore
import ControlPlane
import Foundation
import HubAPI
import LinkProtocol
import Testing

/// The OpenAPI document cannot drift from the HubAPI types: every schema is held against the type the
/// API encodes or decodes for it, key by key — every Codable key is a schema property of a compatible
/// JSON type, every schema property is a key of the type, and `required` lists exactly the non-optional keys.
@Suite("API: contract (OpenAPI schemas = HubAPI types)")
struct APIContractTests {
    /// Each schema of the document and the type behind it.
    static var contract: [(schema: String, type: any Decodable.Type)] {
        [
            ("Error", ErrorBody.self), ("Deleted", Deleted.self), ("Health", HubHealth.self),
            ("LoginRequest", LoginRequest.self), ("LoginResponse", LoginResponse.self), ("Account", Account.self),
            ("AccountView", AccountView.self), ("APIToken", APIToken.self), ("TokenList", TokenList.self),
            ("TokenRequest", TokenRequest.self), ("TokenCreated", TokenCreated.self),
            ("MemberView", MemberView.self), ("InvitationView", InvitationView.self), ("MemberList", MemberList.self),
            ("InvitationRequest", InvitationRequest.self), ("InvitationCreated", InvitationCreated.self), ("MemberUpdate", MemberUpdate.self),
            ("SessionView", SessionView.self), ("SessionList", SessionList.self),
            ("TwoFactorStatus", TwoFactorStatus.self), ("TwoFactorEnrolment", TwoFactorEnrolment.self), ("TwoFactorCode", TwoFactorCode.self),
            ("TwoFactorEnabled", TwoFactorEnabled.self), ("TwoFactorPolicy", TwoFactorPolicy.self),
            ("SSOSettingsView", SSOSettingsView.self), ("SSOSettingsRequest", SSOSettingsRequest.self),
            ("Server", Server.self), ("ServerView", ServerView.self), ("ServerList", ServerList.self), ("ServerRequest", ServerRequest.self),
            ("ServerUpdate", ServerUpdate.self), ("ServerCreated", ServerCreated.self), ("ServerDeleted", ServerDeleted.self),
            ("CertificateRequest", CertificateRequest.self), ("CertificateRevoked", CertificateRevoked.self),
            ("EnrollmentToken", EnrollmentToken.self), ("EnrollmentList", EnrollmentList.self),
            ("EnrollmentRequest", EnrollmentRequest.self), ("EnrollmentCreated", EnrollmentCreated.self),
            ("AgentUpgradeStarted", AgentUpgradeStarted.self),
            ("DestinationSettings", DestinationSettings.self), ("Destination", Destination.self),
            ("DestinationDetail", DestinationView.self), ("AuditEvent", AuditEvent.self), ("AuditList", AuditList.self),
            ("NotificationRules", NotificationRules.self), ("EmailSettings", EmailSettings.self),
            ("NotificationChannel", NotificationChannel.self), ("ChannelRequest", ChannelRequest.self),
            ("ChannelUpdate", ChannelUpdate.self), ("ChannelCreated", ChannelCreated.self), ("ChannelList", ChannelList.self),
            ("DeliveryView", DeliveryView.self), ("DeliveryList", DeliveryList.self), ("PeerReport", PeerReport.self),
            ("StackReport", StackReport.self), ("DockerStack", DockerStack.self), ("StackService", StackService.self),
            ("StackVolume", StackVolume.self), ("StackBindMount", StackBindMount.self), ("StackSource", StackSource.self),
            ("DestinationList", DestinationList.self), ("DestinationRequest", DestinationRequest.self),
            ("DestinationUpdate", DestinationUpdate.self), ("SealedBox", SealedBox.self),
            ("DestinationKeyRecord", DestinationKeyRecord.self), ("VaultDocument", VaultDocument.self),
            ("VaultRequest", VaultRequest.self), ("VaultView", VaultView.self), ("MemberKeyDocument", MemberKeyDocument.self),
            ("MemberKeyRequest", MemberKeyRequest.self), ("MemberVaultEntry", MemberVaultEntry.self), ("MemberVaultList", MemberVaultList.self),
            ("MemberWrappingRequest", MemberWrappingRequest.self), ("SealedEnvelope", SealedEnvelope.self), ("EnvelopeList", EnvelopeList.self),
            ("EnvelopeRequest", EnvelopeRequest.self), ("DatabaseSource", DatabaseSource.self), ("JobSources", JobSources.self),
            ("Retention", RetentionPolicy.self), ("JobHooks", JobHooks.self), ("DestinationRetention", DestinationRetention.self),
            ("RetentionPreviewRequest", RetentionPreviewRequest.self),
            ("RetentionPreview", RetentionPreview.self), ("RetentionPreviewDestination", RetentionPreviewDestination.self),
            ("RetentionPreviewSnapshot", RetentionPreviewSnapshot.self), ("Schedule", Schedule.self), ("Job", Job.self), ("JobView", JobView.self),
            ("JobList", JobList.self),
            ("JobRequest", JobRequest.self), ("JobUpdate", JobUpdate.self), ("DestinationResult", DestinationResult.self),
            ("RepositoryStats", RepositoryStats.self), ("RepositoryStatsPoint", RepositoryStatsPoint.self),
            ("DestinationStats", DestinationStats.self),
            ("Run", Run.self), ("RunPage", RunPage.self), ("RunDetail", RunView.self), ("RunProgress", RunProgress.self),
            ("SnapshotCopy", SnapshotCopy.self), ("Snapshot", Snapshot.self), ("SnapshotPage", SnapshotPage.self),
            ("FleetSummary", FleetSummary.self), ("PreviewRequest", PreviewRequest.self), ("SchedulePreview", SchedulePreview.self),
            ("RestoreRequest", RestoreRequest.self), ("DatabaseRestore", DatabaseRestore.self), ("SnapshotTree", TreeView.self),
            ("ListingUpload", ListingUpload.self), ("EnrollRequest", EnrollRequest.self), ("EnrollResponse", EnrollResponse.self),
            ("AgentJob", AgentJob.self), ("AgentJobSet", AgentJobSet.self), ("AgentEvent", AgentEvent.self),
            ("EventBatch", EventBatch.self), ("EventAck", EventAck.self), ("AgentCommand", AgentCommand.self),
            ("CommandList", CommandList.self), ("RestorePlan", RestorePlan.self), ("RestoreOrder", RestoreOrder.self),
            ("ListingOrder", ListingOrder.self), ("DownloadOrder", DownloadOrder.self), ("SignedManifest", SignedManifest.self),
            ("ManifestRequest", ManifestRequest.self), ("StackContents", StackContents.self),
            ("StackRestoreOptions", StackRestoreOptions.self), ("RunSignature", RunSignature.self),
            ("JobDrill", JobDrill.self), ("DrillSample", DrillSample.self), ("DrillOptions", DrillOptions.self), ("DrillCheck", DrillCheck.self),
            ("DrillDatabase", DrillDatabase.self), ("DrillEvidence", DrillEvidence.self), ("DrillRequest", DrillRequest.self),
            ("CopyRequest", CopyRequest.self), ("CopiedSnapshot", CopiedSnapshot.self), ("CopyPlan", CopyPlan.self),
            ("RunWait", RunWait.self), ("SlotRequest", SlotRequest.self), ("SlotAnswer", SlotAnswer.self),
        ]
    }

    static func schemas() async throws -> [String: Any] {
        let text = try await withTestHub { _, client in try await OpenAPITests.document(client).text }
        let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        return try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
    }

    @Test func everySchemaMatchesItsTypeFieldByField() async throws {
        let schemas = try await Self.schemas()
        var problems: Set<String> = []
        for (name, type) in Self.contract {
            guard let schema = schemas[name] as? [String: Any] else {
                Issue.record("the document has no schema \(name) for \(type)")
                continue
            }
            problems.formUnion(SchemaCheck(schemas: schemas).compare(try JSONShape.of(type), schema, at: "\(type)", schemaName: name))
        }
        for problem in problems.sorted() { Issue.record("\(problem)") }
    }

    @Test func everySchemaHasAType() async throws {
        let covered = Set(Self.contract.map(\.schema))
        for name in try await Self.schemas().keys.sorted() where !covered.contains(name) {
            Issue.record("schema \(name) is checked against no type: add it to APIContractTests.contract")
        }
    }

    /// The check itself: a field added to the type only, or to the schema only, is named with its type.
    @Test func aFieldOnOneSideOnlyIsNamed() throws {
        struct Sample: Decodable {
            let name: String
            let size: Int64?
            let added: Bool
        }
        let schemas: [String: Any] = [
            "Sample": [
                "type": "object", "required": ["name"],
                "properties": ["name": ["type": "string"], "size": ["type": "integer"], "removed": ["type": "string"]],
            ]
        ]
        let problems = SchemaCheck(schemas: schemas).compare(
            try JSONShape.of(Sample.self), schemas["Sample"] as! [String: Any],
            at: "Sample", schemaName: "Sample")
        #expect(
            Set(problems) == [
                "Sample.added: the type has this key, schema Sample does not",
                "Sample.removed: schema Sample has this property, the type does not",
            ])
        struct Typed: Decodable {
            let name: Int
            let size: Int64
        }
        let typed = SchemaCheck(schemas: schemas).compare(
            try JSONShape.of(Typed.self),
            [
                "type": "object", "required": ["name"], "properties": ["name": ["type": "string"], "size": ["type": "integer"]],
            ], at: "Typed", schemaName: "Typed")
        #expect(
            Set(typed) == [
                "Typed.name: the type has integer, the schema says string",
                "Typed.size: required in the type, not in schema Typed's required list",
            ])
    }

    @Test func theProbeSeesOptionalityEnumsAndNesting() throws {
        let shape = try JSONShape.of(JobRequest.self)
        guard case .object(let fields) = shape else {
            Issue.record("JobRequest is not an object: \(shape)")
            return
        }
        #expect(fields["name"] == ShapeField(shape: .string(values: nil), required: true))
        #expect(fields["pingURL"] == ShapeField(shape: .string(values: nil), required: false))
        #expect(fields["destinations"] == ShapeField(shape: .array(.string(values: nil)), required: true))
        guard case .object(let sources)? = fields["sources"]?.shape else {
            Issue.record("sources is not an object")
            return
        }
        #expect(sources["databases"]?.required == false)
        guard case .object(let run) = try JSONShape.of(Run.self) else {
            Issue.record("Run is not an object")
            return
        }
        #expect(run["status"]?.shape == .string(values: RunStatus.allCases.map(\.rawValue)))
    }
}

/// Compares a probed shape with an OpenAPI 3.0 schema and says each difference in words.
struct SchemaCheck {
    let schemas: [String: Any]

    /// The schema behind `$ref`, and an `allOf` merged into one object schema.
    func resolve(_ schema: [String: Any]) -> [String: Any] {
        if let ref = schema["$ref"] as? String, let target = schemas[String(ref.split(separator: "/").last ?? "")] as? [String: Any] {
            return resolve(target)
        }
        if let parts = schema["allOf"] as? [[String: Any]] {
            var properties: [String: Any] = [:]
            var required: [String] = []
            for part in parts.map(resolve) {
                properties.merge(part["properties"] as? [String: Any] ?? [:]) { old, _ in old }
                required += part["required"] as? [String] ?? []
            }
            return ["type": "object", "properties": properties, "required": required]
        }
        return schema
    }

    func compare(_ shape: JSONShape, _ raw: [String: Any], at path: String, schemaName: String) -> [String] {
        let schema = resolve(raw)
        let reference = (raw["$ref"] as? String).map { String($0.split(separator: "/").last ?? "") }
        let name = reference ?? schemaName
        // A referenced schema is named by itself, so one difference reads the same wherever it is used.
        let path = reference ?? path
        let type = schema["type"] as? String
        guard type == shape.jsonType else {
            return ["\(path): the type has \(shape.jsonType), the schema says \(type ?? "nothing")"]
        }
        switch shape {
        case .dateTime:
            return schema["format"] as? String == "date-time" ? [] : ["\(path): a date in the type, the schema's format is not date-time"]
        case .string(let values?):
            guard let listed = schema["enum"] as? [String] else { return [] }
            return Set(listed) == Set(values) ? [] : ["\(path): the type's values are \(values.sorted()), the schema lists \(listed.sorted())"]
        case .array(let element):
            guard let items = schema["items"] as? [String: Any] else { return ["\(path): the schema's array has no items"] }
            return compare(element, items, at: path + "[]", schemaName: name)
        case .map(let value):
            guard let additional = schema["additionalProperties"] as? [String: Any] else {
                return ["\(path): a dictionary in the type, the schema has no additionalProperties"]
            }
            return compare(value, additional, at: path + "[*]", schemaName: name)
        case .object(let fields):
            let properties = schema["properties"] as? [String: Any] ?? [:]
            let required = Set(schema["required"] as? [String] ?? [])
            var problems: [String] = []
            for (key, field) in fields.sorted(by: { $0.key < $1.key }) {
                guard let property = properties[key] as? [String: Any] else {
                    problems.append("\(path).\(key): the type has this key, schema \(name) does not")
                    continue
                }
                if field.required, !required.contains(key) {
                    problems.append("\(path).\(key): required in the type, not in schema \(name)'s required list")
                }
                if !field.required, required.contains(key) {
                    problems.append("\(path).\(key): optional in the type, required in schema \(name)")
                }
                problems += compare(field.shape, property, at: "\(path).\(key)", schemaName: name)
            }
            for key in properties.keys.sorted() where fields[key] == nil {
                problems.append("\(path).\(key): schema \(name) has this property, the type does not")
            }
            return problems
        default:
            return []
        }
    }
}

extension RunStatus: ProbeableEnum {}
extension RunWait.Reason: ProbeableEnum {}
extension MemberRole: ProbeableEnum {}
extension RunTrigger: ProbeableEnum {}
extension CopyStatus: ProbeableEnum {}
extension ManifestState: ProbeableEnum {}
extension RunSignature.State: ProbeableEnum {}
extension StackDatabaseEngine: ProbeableEnum {}
extension JobKind: ProbeableEnum {}
extension HookFailurePolicy: ProbeableEnum {}
extension JobHealth: ProbeableEnum {}
extension ServerHealth: ProbeableEnum {}
extension JobDrill.Frequency: ProbeableEnum {}
extension DatabaseEngine: ProbeableEnum {}
extension DestinationKind: ProbeableEnum {}
extension ChannelKind: ProbeableEnum {}
extension Plan: ProbeableEnum {}
extension TokenScope: ProbeableEnum {}
extension SnapshotListing.Status: ProbeableEnum {}
extension AgentEvent.Kind: ProbeableEnum {}
extension AgentCommand.Kind: ProbeableEnum {}
