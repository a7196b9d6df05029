import { VigilError } from '../errors/catalogue.ts';
import { type App, loggableError, logRefusal } from '../server/http.ts';
import { registerAuditEventResource } from './audit-event-routes.ts';
import { capabilityStatement } from './capability.ts';
import { registerConsentResource } from './consent-routes.ts';
import { registerDeviceResource } from './device-routes.ts';
import { registerPatientEverything } from './everything-routes.ts';
import { baseUrl, FHIR_JSON, FHIR_PREFIX, type FhirDeps, sendResource } from './fhir-context.ts';
import { registerObservationCreate } from './observation-create.ts';
import { registerObservationResource } from './observation-routes.ts';
import { asVigilError, toOperationOutcome } from './operation-outcome.ts';
import { registerPatientResource } from './patient-routes.ts';

/**
 * The FHIR R4 facade at /fhir/R4, as one Fastify plugin: its own body parser for
 * application/fhir+json, and its own error and not-found handlers, so every failure under the
 * prefix (authentication and permission refusals included) answers with an OperationOutcome
 * instead of a problem document (DESIGN.md, HTTP API).
 */
export async function registerFhirRoutes(app: App, deps: FhirDeps): Promise<void> {
  await app.register(
    async (instance) => {
      const fhir = instance as unknown as App;
      fhir.addContentTypeParser(
        'application/fhir+json',
        { parseAs: 'string' },
        fhir.getDefaultJsonParser('error', 'error'),
      );
      fhir.setErrorHandler((error, request, reply) => {
        const e = asVigilError(error);
        if (e.status >= 500)
          request.log.error(
            { err: loggableError(error), route: request.routeOptions.url },
            'FHIR request failed',
          );
        else logRefusal(request, e);
        void sendResource(reply, e.status, toOperationOutcome(e));
      });
      fhir.setNotFoundHandler((request, reply) => {
        const path = (request.url.split('?')[0] ?? '').slice(0, 100);
        const e = new VigilError(
          'VIGIL_ERR_NOT_FOUND',
          `no FHIR interaction ${request.method} ${path}; see ${FHIR_PREFIX}/metadata for what is offered`,
        );
        void sendResource(reply, 404, toOperationOutcome(e));
      });

      fhir.get(
        '/metadata',
        {
          config: { access: { public: true } },
          schema: { summary: 'FHIR R4 CapabilityStatement: what this facade implements', tags: ['FHIR'] },
        },
        async (request, reply) =>
          sendResource(
            reply,
            200,
            capabilityStatement(baseUrl(request), {
              version: deps.version,
              observationCreate: deps.ingest !== undefined,
            }),
          ),
      );
      registerPatientResource(fhir, deps);
      registerPatientEverything(fhir, deps);
      registerAuditEventResource(fhir, deps);
      registerConsentResource(fhir, deps);
      registerDeviceResource(fhir, deps);
      registerObservationResource(fhir, deps);
      if (deps.ingest) registerObservationCreate(fhir, deps, deps.ingest);
    },
    { prefix: FHIR_PREFIX },
  );
}

export { FHIR_JSON };
