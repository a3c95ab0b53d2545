/**
 * `service-requests`: Open311-like service requests for a city's communities. A community's
 * catalog lists the services residents may ask for (a pothole, a broken street light, bulky
 * waste); a request is opened in a community, assigned to a worker, updated and closed, every
 * step an event; requests are listed by community with a scan.
 *
 *   defineService  {community, serviceCode, name, open?: boolean}        permission "manage-catalog"
 *   openRequest    {community, serviceCode, description, location?}      any member or signer
 *   assign         {requestId, assigneeKeyIdHex}                         permission "assign"
 *   updateStatus   {requestId, status: "in_progress" | "on_hold", note?} the assignee, or "assign"
 *   close          {requestId, resolution}                               the assignee, or "assign"
 *   get            {requestId}                                           the request
 *   listByCommunity {community, after?, limit?}                          {requests, more}
 *
 * Request ids are `<community>/<number>` with the number zero-padded, so a community's requests
 * sort by age. Errors: CONTRACT_ARGS_INVALID, CONTRACT_SERVICE_UNKNOWN, CONTRACT_SERVICE_CLOSED,
 * CONTRACT_REQUEST_UNKNOWN, CONTRACT_REQUEST_CLOSED, CONTRACT_NOT_ASSIGNEE.
 */
import { type Context, ContractError, emit, requirePermission, state } from "@cityledger/contract";

const SERVICE_TABLE = "service";
const REQUEST_TABLE = "request";
const SEQUENCE_TABLE = "sequence";
const TEXT_CHARS_MAX = 500;
const NUMBER_DIGITS = 8;
const STATUSES_UPDATABLE = ["in_progress", "on_hold"];

type Status = "open" | "assigned" | "in_progress" | "on_hold" | "closed";

interface Service {
  readonly community: string;
  readonly serviceCode: string;
  readonly name: string;
  readonly open: boolean;
}

interface ServiceRequest {
  readonly requestId: string;
  readonly community: string;
  readonly serviceCode: string;
  readonly description: string;
  readonly location: string | null;
  readonly status: Status;
  readonly openedBy: string;
  readonly openedAtMs: bigint;
  readonly updatedAtMs: bigint;
  readonly assignee: string | null;
  readonly note: string | null;
  readonly resolution: string | null;
  readonly steps: bigint;
}

function invalid(message: string): never {
  throw new ContractError("ARGS_INVALID", message);
}

/** A slug `[a-z][a-z0-9-]{0,47}` (no regular expressions in contracts). */
function slug(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length < 1 || value.length > 48) invalid(`${field} must be a slug`);
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    const isLetter = code >= 97 && code <= 122;
    const isDigitOrDash = (code >= 48 && code <= 57) || code === 45;
    if (!isLetter && (index === 0 || !isDigitOrDash)) invalid(`${field} must be a slug`);
  }
  return value;
}

function text(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length < 1 || value.length > TEXT_CHARS_MAX) {
    invalid(`${field} must be text of 1 to ${TEXT_CHARS_MAX} characters`);
  }
  return value;
}

function optionalText(value: unknown, field: string): string | null {
  return value === undefined || value === null ? null : text(value, field);
}

function loadRequest(requestId: unknown): ServiceRequest {
  if (typeof requestId !== "string" || requestId.length > 64) invalid("requestId must be a request id");
  const request = state.get(REQUEST_TABLE, requestId) as ServiceRequest | undefined;
  if (request === undefined) throw new ContractError("REQUEST_UNKNOWN", "no request has this id");
  if (request.status === "closed") throw new ContractError("REQUEST_CLOSED", "the request is closed");
  return request;
}

function save(request: ServiceRequest, event: string, context: Context): ServiceRequest {
  state.set(REQUEST_TABLE, request.requestId, { ...request });
  emit(event, {
    // The indexed key: the API finds a request's whole history with ?key=<requestId>.
    key: request.requestId,
    requestId: request.requestId,
    community: request.community,
    status: request.status,
    by: context.caller.keyIdHex,
    atMs: context.block.timeMs,
  });
  return request;
}

/** The assignee may move their own request on; otherwise the caller needs "assign". */
function requireAssigneeOrDispatcher(request: ServiceRequest, context: Context): void {
  if (request.assignee !== null && request.assignee === context.caller.keyIdHex) return;
  requirePermission("assign");
}

export function defineService(args: Record<string, unknown>, context: Context): Service {
  requirePermission("manage-catalog");
  const service: Service = {
    community: slug(args.community, "community"),
    serviceCode: slug(args.serviceCode, "serviceCode"),
    name: text(args.name, "name"),
    open: args.open !== false,
  };
  state.set(SERVICE_TABLE, `${service.community}/${service.serviceCode}`, { ...service });
  emit("service.defined", { ...service, key: `${service.community}/${service.serviceCode}`, by: context.caller.keyIdHex });
  return service;
}

export function openRequest(args: Record<string, unknown>, context: Context): string {
  const community = slug(args.community, "community");
  const serviceCode = slug(args.serviceCode, "serviceCode");
  const service = state.get(SERVICE_TABLE, `${community}/${serviceCode}`) as Service | undefined;
  if (service === undefined) throw new ContractError("SERVICE_UNKNOWN", "the community offers no such service");
  if (!service.open) throw new ContractError("SERVICE_CLOSED", "the service takes no requests now");
  const number = (state.get<bigint>(SEQUENCE_TABLE, community) ?? 0n) + 1n;
  state.set(SEQUENCE_TABLE, community, number);
  const requestId = `${community}/${String(number).padStart(NUMBER_DIGITS, "0")}`;
  save(
    {
      requestId,
      community,
      serviceCode,
      description: text(args.description, "description"),
      location: optionalText(args.location, "location"),
      status: "open",
      openedBy: context.caller.keyIdHex,
      openedAtMs: context.block.timeMs,
      updatedAtMs: context.block.timeMs,
      assignee: null,
      note: null,
      resolution: null,
      steps: 1n,
    },
    "request.opened",
    context,
  );
  return requestId;
}

export function assign(args: Record<string, unknown>, context: Context): ServiceRequest {
  requirePermission("assign");
  const request = loadRequest(args.requestId);
  const assignee = args.assigneeKeyIdHex;
  if (typeof assignee !== "string" || assignee.length !== 64) invalid("assigneeKeyIdHex must be 64 hex digits");
  return save(
    { ...request, status: "assigned", assignee, updatedAtMs: context.block.timeMs, steps: request.steps + 1n },
    "request.assigned",
    context,
  );
}

export function updateStatus(args: Record<string, unknown>, context: Context): ServiceRequest {
  const request = loadRequest(args.requestId);
  requireAssigneeOrDispatcher(request, context);
  const status = args.status;
  if (typeof status !== "string" || !STATUSES_UPDATABLE.includes(status)) {
    invalid("status must be in_progress or on_hold");
  }
  return save(
    {
      ...request,
      status: status as Status,
      note: optionalText(args.note, "note"),
      updatedAtMs: context.block.timeMs,
      steps: request.steps + 1n,
    },
    "request.updated",
    context,
  );
}

export function close(args: Record<string, unknown>, context: Context): ServiceRequest {
  const request = loadRequest(args.requestId);
  requireAssigneeOrDispatcher(request, context);
  return save(
    {
      ...request,
      status: "closed",
      resolution: text(args.resolution, "resolution"),
      updatedAtMs: context.block.timeMs,
      steps: request.steps + 1n,
    },
    "request.closed",
    context,
  );
}

export function get(args: Record<string, unknown>): ServiceRequest | null {
  if (typeof args.requestId !== "string" || args.requestId.length > 64) invalid("requestId must be a request id");
  return (state.get(REQUEST_TABLE, args.requestId) as ServiceRequest | undefined) ?? null;
}

export function listByCommunity(args: Record<string, unknown>): { requests: ServiceRequest[]; more: boolean } {
  const community = slug(args.community, "community");
  const page = state.scan<ServiceRequest & { [key: string]: never }>(REQUEST_TABLE, {
    prefix: `${community}/`,
    ...(typeof args.after === "string" ? { after: args.after } : {}),
    ...(typeof args.limit === "bigint" ? { limit: args.limit } : {}),
  });
  return { requests: page.rows.map((row) => row.value), more: page.more };
}
