export {
  topics,
  topicSettings,
  EventTime,
  eventEnvelope,
  ConsentCreated,
  ConsentAuthorised,
  ConsentRejected,
  ConsentExtended,
  ConsentEvent,
  ApiCall,
  ApiCallEvent,
  eventSchemas,
} from './events.ts'
export type { Topic } from './events.ts'
