/** The dashboard's routes: a page owns the paths below its own (a job's id under export-jobs). */
import { matchRoute, pageOfPath, pagePath } from '../../dashboard/src/routes';

const pages = [{ path: 'settings/data-export' }, { path: 'export-jobs' }, { path: 'export-jobs-archive' }];

describe('pageOfPath', () => {
  it('finds the page of its own path and of the paths below it, with the rest of the path', () => {
    expect(pageOfPath(pages, 'settings/data-export')).toEqual({ page: pages[0], subpath: '' });
    expect(pageOfPath(pages, 'export-jobs/job_1/edit')).toEqual({ page: pages[1], subpath: 'job_1/edit' });
  });

  it('does not take a longer name for a path below a page', () => {
    expect(pageOfPath(pages, 'export-jobs-archive')).toEqual({ page: pages[2], subpath: '' });
    expect(pageOfPath(pages, 'export-jobsx')).toBeUndefined();
    expect(pageOfPath(pages, undefined)).toBeUndefined();
  });
});

describe('matchRoute', () => {
  it('reads the environment and the page path back from pagePath', () => {
    expect(matchRoute(pagePath('env 1', 'export-jobs/job_1'))).toEqual({
      environmentId: 'env 1',
      page: 'export-jobs/job_1',
    });
    expect(matchRoute('/somewhere')).toBeUndefined();
  });
});
