import { error } from '@sveltejs/kit';

export const load = ({ params }) => {
  if (!/^\d{1,19}$/.test(params.id)) error(404, `"${params.id}" is not a stream id`);
  return { streamId: params.id };
};
