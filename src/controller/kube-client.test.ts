import { describe, expect, it } from 'vitest';
import { KubeApiError, kubeConfigFor, kubeConnectionFromConfig } from './kube-client.js';

describe('kubeConnectionFromConfig', () => {
  it('prefers an explicit API URL, then the in-cluster service, else none', () => {
    expect(
      kubeConnectionFromConfig({ kubernetesApiUrl: 'http://127.0.0.1:8001/', kubernetesToken: 't' }),
    ).toEqual({
      server: 'http://127.0.0.1:8001',
      token: 't',
    });
    expect(
      kubeConnectionFromConfig({ kubernetesServiceHost: '10.96.0.1', kubernetesServicePort: 443 }),
    ).toEqual({
      server: 'https://10.96.0.1:443',
      tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
      caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
    });
    expect(
      kubeConnectionFromConfig({ kubernetesServiceHost: 'fd00::1', kubernetesServicePort: 6443 })?.server,
    ).toBe('https://[fd00::1]:6443');
    expect(kubeConnectionFromConfig({})).toBeNull();
  });

  it('builds a KubeConfig that allows plain http only for http:// servers', () => {
    expect(kubeConfigFor({ server: 'http://127.0.0.1:1' }).getCurrentCluster()).toMatchObject({
      skipTLSVerify: true,
    });
    const tls = kubeConfigFor({ server: 'https://10.0.0.1:443', tokenFile: '/t', caFile: '/ca' });
    expect(tls.getCurrentCluster()).toMatchObject({ skipTLSVerify: false, caFile: '/ca' });
    expect(tls.getCurrentUser()).toMatchObject({
      authProvider: { name: 'tokenFile', config: { tokenFile: '/t' } },
    });
  });

  it('names errors by their Status reason', () => {
    const e = new KubeApiError('patch statefulsets/scale', 403, 'Forbidden', 'nope');
    expect(e).toMatchObject({ status: 403, code: 'kubernetes_forbidden' });
    expect(new KubeApiError('get leases', 0, 'Timeout', 'no answer').status).toBe(503);
    expect(new KubeApiError('x', 415, 'UnsupportedMediaType', 'm').code).toBe(
      'kubernetes_unsupported_media_type',
    );
  });
});
