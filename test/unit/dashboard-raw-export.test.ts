/** The raw export page's form: the stored settings as a form, and the save body with the version read. */
import { rawExportBody, rawExportForm, type RawExportSettingsView } from '../../dashboard/src/pages/raw-export-logic';

const stored: RawExportSettingsView = {
  enabled: true,
  destinationId: 'dst_1',
  notifyEmails: ['a@x.example', 'b@x.example'],
  updatedAt: '2026-12-01T00:00:00.000Z',
  stoppedAt: null,
  stoppedReason: null,
  version: 3,
};

describe('rawExportForm', () => {
  it('shows the stored destination and the emails as one line', () => {
    expect(rawExportForm(stored, ['dst_0', 'dst_1'])).toEqual({
      enabled: true,
      destinationId: 'dst_1',
      notifyEmails: 'a@x.example, b@x.example',
    });
  });

  it('leaves the destination to choose when none is stored or the stored one was deleted', () => {
    expect(
      rawExportForm({ ...stored, enabled: false, destinationId: null, notifyEmails: [] }, ['dst_1']).destinationId,
    ).toBe('');
    expect(rawExportForm({ ...stored, enabled: false }, ['dst_2']).destinationId).toBe('');
  });
});

describe('rawExportBody', () => {
  it('sends the destination, the emails as a list and the version read', () => {
    expect(
      rawExportBody({ enabled: true, destinationId: 'dst_1', notifyEmails: 'a@x.example,\nb@x.example' }, 3),
    ).toEqual({
      enabled: true,
      destinationId: 'dst_1',
      notifyEmails: ['a@x.example', 'b@x.example'],
      version: 3,
    });
  });

  it('leaves out a destination not chosen, so the API names the field when enabling', () => {
    expect(rawExportBody({ enabled: false, destinationId: '', notifyEmails: '' }, 0)).toEqual({
      enabled: false,
      notifyEmails: [],
      version: 0,
    });
  });
});
