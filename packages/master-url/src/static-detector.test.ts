import { isSparkMesosError } from '@spark-mesos/errors';
import { describe, expect, it } from 'vitest';
import { createMasterDetector } from './create-master-detector.js';
import { parseMasterUrl } from './parse-master-url.js';
import { createStaticDetector } from './static-detector.js';

describe('createStaticDetector', () => {
  it('answers the configured address until closed', async () => {
    const detector = createStaticDetector({ host: 'm1', port: 5050, scheme: 'https' });
    const unsubscribe = detector.onChange(() => {
      throw new Error('a static master never changes');
    });
    expect(await detector.detect()).toStrictEqual({ host: 'm1', port: 5050, scheme: 'https' });
    unsubscribe();
    await detector.close();
    await expect(detector.detect()).rejects.toSatisfy((error) => isSparkMesosError(error, 'SM_ERR_CLOSED'));
  });

  it('honours an aborted signal', async () => {
    const detector = createStaticDetector({ host: 'm1', port: 5050, scheme: 'http' });
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(detector.detect({ signal: controller.signal })).rejects.toThrow('stop');
  });

  it('is what createMasterDetector picks for mesos://host', async () => {
    const url = parseMasterUrl('mesos+https://[::1]:5051');
    if (url.kind !== 'mesos') throw new Error('expected a mesos URL');
    const detector = createMasterDetector(url);
    expect(await detector.detect()).toStrictEqual({ host: '::1', port: 5051, scheme: 'https' });
    await detector.close();
  });
});
