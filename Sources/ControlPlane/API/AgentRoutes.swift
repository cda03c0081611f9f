import BackupCore
import Foundation
import HTTPTypes
import HubAPI
import Hummingbird
import LinkProtocol

/// The agents' side of the hub. Agents authenticate with `Authorization: Agent <credential>`;
/// each handler decodes, calls `AgentLinkService` and encodes.
struct AgentRoutes {
    let hub: HubServices
    var link: AgentLinkService { AgentLinkService(hub: hub) }

    func register(on api: inout APIRouter) {
        api.on(
            .post, "/api/agent/v1/enroll", summary: "Enroll an agent with a one-time token and register its public key",
            tag: "agent", authenticated: false, body: "EnrollRequest", response: "EnrollResponse", status: 201, enroll)
        api.on(
            .get, "/api/agent/v1/jobs", summary: "The calling agent's jobs with their destinations and the envelopes sealed to it",
            tag: "agent", response: "AgentJobSet", jobs)
        api.on(
            .post, "/api/agent/v1/events", summary: "Deliver outbox events; each id is applied once and acknowledged",
            tag: "agent", body: "EventBatch", response: "EventAck", events)
        api.on(
            .put, "/api/agent/v1/peer-stores/{destination}",
            summary: "The storage server reports on a peer destination it serves (certificate, space)",
            tag: "agent", body: "PeerReport", response: "PeerReport", peerReport)
        api.on(
            .put, "/api/agent/v1/stacks", summary: "The agent reports the Docker Compose stacks it found on its server",
            tag: "agent", body: "StackReport", response: "StackReport", stackReport)
        api.on(
            .post, "/api/agent/v1/destination-slots",
            summary: "A run claims, renews or releases its slot at a destination with a cap on concurrent runs (or learns its place in line)",
            tag: "agent", body: "SlotRequest", response: "SlotAnswer", destinationSlot)
        api.on(
            .get, "/api/agent/v1/commands", summary: "Long-poll for commands (run now, sync jobs); wait=0–30 seconds",
            tag: "agent", response: "CommandList", query: ["wait"], commands)
        api.on(
            .post, "/api/agent/v1/commands/{command}/ack", summary: "Acknowledge a command the agent has taken",
            tag: "agent", response: "Deleted", acknowledge)
    }

    @Sendable func enroll(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<EnrollResponse> {
        JSONBody(try await link.enroll(try await request.decodeJSON(EnrollRequest.self, context: context)), status: .created)
    }

    @Sendable func jobs(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<AgentJobSet> {
        JSONBody(try await link.jobSet(for: try await agent(request)))
    }

    @Sendable func events(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<EventAck> {
        let server = try await agent(request)
        return JSONBody(
            try await link.deliver(try await request.decodeJSON(EventBatch.self, context: context, limit: BodyLimit.eventBatch), from: server))
    }

    @Sendable func peerReport(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<PeerReport> {
        let server = try await agent(request)
        let destination = try context.parameter("destination")
        return JSONBody(
            try await link.report(try await request.decodeJSON(PeerReport.self, context: context), destination: destination, from: server))
    }

    @Sendable func stackReport(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<StackReport> {
        let server = try await agent(request)
        return JSONBody(
            try await link.report(
                try await request.decodeJSON(StackReport.self, context: context, limit: BodyLimit.stackReport), from: server))
    }

    @Sendable func destinationSlot(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<SlotAnswer> {
        let server = try await agent(request)
        return JSONBody(try await DestinationSlots(hub: hub).claim(try await request.decodeJSON(SlotRequest.self, context: context), from: server))
    }

    @Sendable func commands(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<CommandList> {
        // The poll reads only the server's id: its credential may come from this replica's cache.
        let server = try await agent(request, cached: true)
        return JSONBody(try await link.commands(for: server, wait: try QueryParameters(request: request).int("wait") ?? 0))
    }

    @Sendable func acknowledge(_ request: Request, _ context: HubRequestContext) async throws -> JSONBody<Deleted> {
        try await link.acknowledge(try context.parameter("command"), from: try await agent(request))
        return JSONBody(Deleted())
    }

    /// The server whose agent is calling; 401 without a valid agent credential.
    func agent(_ request: Request, cached: Bool = false) async throws -> Server {
        try await link.authenticate(
            request.headers[.authorization], userAgent: request.headers[.userAgent],
            capabilities: request.headers[HTTPField.Name("X-MZPanel-Agent-Capabilities")!], cached: cached)
    }
}
