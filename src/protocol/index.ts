// warden/protocol: the pure MQTT 3.1 / 3.1.1 / 5.0 codec shared by broker and client.

export { decodePacket } from './decode/decode-packet.js';
export { encodePacket } from './encode/encode-packet.js';
export { encodePublish, encodePublishHeader, publishPacketSize } from './encode/publish.js';
export { FrameDecoder, type FrameDecoderOptions, MAX_PACKET_SIZE } from './frame-decoder.js';
export * from './packets.js';
export {
  type Properties,
  type PropertyName,
  propertyTable,
  type UserProperty,
  userPropertyCount,
  withProperties,
} from './properties.js';
export { MALFORMED_PACKET, PROTOCOL_ERROR, ProtocolError, type ProtocolErrorCode } from './protocol-error.js';
export * from './reason-codes.js';
export * from './topic.js';
