/**
 * @peculiar/x509, ready to use: the Reflect metadata polyfill tsyringe needs is evaluated first (ES modules evaluate their
 * imports in order), and the library is pointed at Node's WebCrypto once, here, so no other
 * module has to remember either step.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export { x509 };
