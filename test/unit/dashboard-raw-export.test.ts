/** The raw export page's save body: the form's choice, the emails as a list, the version read when there is one. */
import { rawExportBody } from '../../dashboard/src/pages/raw-export-logic';

describe('rawExportBody', () => {
  it('sends the destination, the emails as a list and the version read', () => {
    expect(rawExportBody({ enabled: true, destinationId: 'dst_1', notifyEmails: 'a@x.example,\nb@x.example' }, 3)).toEqual({
      enabled: true,
      destinationId: 'dst_1',
      notifyEmails: ['a@x.example', 'b@x.example'],
      version: 3,
    });
  });

  it('leaves out a destination not chosen and a version the API did not give', () => {
    expect(rawExportBody({ enabled: false, destinationId: '', notifyEmails: '' }, undefined)).toEqual({ enabled: false, notifyEmails: [] });
  });
});
